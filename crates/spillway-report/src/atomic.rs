//! Write-then-rename, so readers never see a half-written file.
//!
//! Every `.part` file being written is listed in a process-wide registry, so that an
//! interrupt (SIGINT/SIGTERM, handled by the CLI) can remove them before the process exits:
//! `Drop` does not run when the process is ended from a signal handler.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The `.part` files open now. Bounded by the files a run writes at once (a handful).
static OPEN_PARTS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn open_parts() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic while holding the lock leaves the set itself consistent: keep using it.
    OPEN_PARTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remove every `.part` file still being written and return how many were removed.
///
/// For an interrupt handler about to exit the process. The registry stays locked until the
/// process exits when `then_exit` is given, so no new `.part` file can appear after the sweep.
pub fn remove_partial_files(then_exit: Option<i32>) -> usize {
    let mut parts = open_parts();
    let removed = parts
        .iter()
        .filter(|part| std::fs::remove_file(part).is_ok())
        .count();
    parts.clear();
    if let Some(code) = then_exit {
        std::process::exit(code);
    }
    removed
}

/// A file written under `<name>.part` and renamed to `<name>` by [`AtomicFile::commit`].
/// Dropped without commit, the partial file is removed.
pub struct AtomicFile {
    writer: Option<BufWriter<File>>,
    part: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    /// Start writing `target`.
    pub fn create(target: &Path) -> io::Result<Self> {
        let mut part = target.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        // Registered before it exists, under the lock, so an interrupt's sweep cannot miss it.
        let mut parts = open_parts();
        let file = File::create(&part).map_err(|e| with_path(e, &part))?;
        parts.insert(part.clone());
        drop(parts);
        Ok(AtomicFile {
            writer: Some(BufWriter::new(file)),
            part,
            target: target.to_path_buf(),
        })
    }

    /// Flush, sync and rename into place.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(writer) = self.writer.take() {
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        let mut parts = open_parts();
        let renamed =
            std::fs::rename(&self.part, &self.target).map_err(|e| with_path(e, &self.target));
        parts.remove(&self.part);
        renamed
    }
}

impl AtomicFile {
    /// Copy everything written so far into `dest`: for a scratch file that is never committed
    /// (rows held on disk rather than in memory), removed when dropped.
    pub fn copy_into(&mut self, dest: &mut impl Write) -> io::Result<u64> {
        self.flush()?;
        let mut file = File::open(&self.part).map_err(|e| with_path(e, &self.part))?;
        io::copy(&mut file, dest)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let mut parts = open_parts();
            let _ = std::fs::remove_file(&self.part);
            parts.remove(&self.part);
        }
    }
}

/// Write `bytes` to `target` atomically (temp file, sync, rename).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(bytes)?;
    file.commit()
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
