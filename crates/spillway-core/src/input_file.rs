//! Files named by users (scenarios, traces, libraries, catalogues, secret files), read with
//! bounds.
//!
//! Why: a named pipe blocks `open` until a writer appears (so `validate` hung), and `/dev/zero`
//! or a file without newlines grows a buffer until the allocator aborts. Only regular files are
//! opened, whole-file reads are capped in size, and streamed reads in line length; every refusal
//! is an ordinary `io::Error` whose message says what was found and what is allowed, so callers
//! keep their own error types and locations.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Largest YAML file (scenario, provider library, model catalogue) read whole: 16 MiB.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// Largest secret file: 64 KiB (a key is at most a few hundred bytes).
pub const MAX_SECRET_BYTES: u64 = 64 << 10;
/// Longest line of a streamed file (a trace row): 1 MiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Open `path` for reading if it is a regular file (symlinks followed); anything else is
/// refused before `open`, which could block on a named pipe.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is {}; name a regular file", path.display(), kind(&meta)),
        ));
    }
    File::open(path)
}

/// The whole of `path` as UTF-8 text, refusing non-regular files and files over `max_bytes`.
pub fn read_text(path: &Path, max_bytes: u64) -> io::Result<String> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    // `take` rather than the metadata length: the file may grow while it is read.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is larger than the {} bytes allowed for this kind of file",
                path.display(),
                max_bytes
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// A reader that fails once more than `max` bytes pass without a newline, so a line-oriented
/// parser above it never buffers an unbounded line.
pub struct LineCapped<R> {
    inner: R,
    max: usize,
    since_newline: usize,
}

impl<R: Read> LineCapped<R> {
    /// Wrap `inner`, allowing lines of at most `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        LineCapped {
            inner,
            max,
            since_newline: 0,
        }
    }
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.since_newline = if b == b'\n' {
                0
            } else {
                self.since_newline.saturating_add(1)
            };
            if self.since_newline > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line is longer than {} bytes", self.max),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        let e = read_text(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let e = open_regular(Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn a_missing_file_keeps_its_not_found_kind() {
        let e = open_regular(Path::new("/no/such/spillway/file")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn an_oversized_file_is_refused_with_the_bound() {
        let path = std::env::temp_dir().join(format!("spillway-input-{}", std::process::id()));
        std::fs::write(&path, "0123456789").expect("write");
        assert_eq!(read_text(&path, 10).expect("fits"), "0123456789");
        let e = read_text(&path, 9).unwrap_err();
        assert!(e.to_string().contains("9 bytes"), "{e}");
        std::fs::remove_file(&path).expect("remove");
    }

    #[test]
    fn a_long_line_fails_and_short_lines_pass() {
        let mut ok = String::new();
        LineCapped::new("ab\ncd\n".as_bytes(), 2)
            .read_to_string(&mut ok)
            .expect("short lines");
        assert_eq!(ok, "ab\ncd\n");
        let mut out = Vec::new();
        let e = LineCapped::new(io::repeat(b'x'), 1000)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(e.to_string().contains("longer than 1000 bytes"), "{e}");
    }
}
