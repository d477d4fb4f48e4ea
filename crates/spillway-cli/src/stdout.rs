//! Writing results to standard output without panicking when its reader has gone.
//!
//! Why: `println!` panics when the write fails, and the common failure is a closed pipe
//! (`spillway simulate … | head`): the user asked for less, not for a backtrace. A broken pipe
//! silences the rest of the output and the command carries on to its own exit status (a
//! `validate-model` that finds drift still exits 1 under `| grep -q`); every output file is
//! written before anything is printed, so nothing is lost. Any other write error (a full disk
//! behind a redirection) is reported and exits with 1.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// `print!` to stdout through [`write()`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*))
    };
}

/// `println!` to stdout through [`write()`].
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// Set once a write found the reader gone: later output is dropped.
static READER_GONE: AtomicBool = AtomicBool::new(false);

/// Writes `args` to stdout; after a broken pipe, nothing; another error exits 1 with a message.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    if READER_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            READER_GONE.store(true, Ordering::Relaxed);
            return;
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}
