//! Writing results to standard output without panicking when its reader has gone.
//!
//! Why: `println!` panics when the write fails, and the common failure is a closed pipe
//! (`spillway simulate … | head`): the user asked for less, not for a backtrace. As ripgrep
//! does, a broken pipe ends the process quietly with success: every output file was written
//! before anything is printed, so nothing is lost. Any other write error (a full disk behind a
//! redirection) is reported and exits with 1.

use std::fmt;
use std::io::{self, Write};

/// `print!` to stdout through [`write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*))
    };
}

/// `println!` to stdout through [`write`].
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// Writes `args` to stdout; a broken pipe exits 0, another error exits 1 with a message.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}
