//! Progress of long downloads, on stderr, only when it is a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Below this size, no progress is shown.
const MIN_SIZE: u64 = 512 << 10;

/// One download's progress line.
pub struct Progress {
    label: String,
    total: u64,
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A progress line for `total` bytes; shown only if `wanted`, stderr is a
    /// terminal, and the download is large enough to be worth it.
    pub fn new(label: &str, total: u64, wanted: bool) -> Progress {
        Progress {
            label: label.chars().take(60).collect(),
            total,
            enabled: wanted && total >= MIN_SIZE && std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// `done` bytes have arrived.
    pub fn advance(&mut self, done: u64) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let _ = write!(
            std::io::stderr(),
            "\r{}",
            line(&self.label, done, self.total)
        );
    }

    /// The download is over.
    pub fn finish(self) {
        if self.enabled {
            let _ = writeln!(
                std::io::stderr(),
                "\r{}",
                line(&self.label, self.total, self.total)
            );
        }
    }
}

fn line(label: &str, done: u64, total: u64) -> String {
    let percent = (done.saturating_mul(100)).checked_div(total).unwrap_or(100);
    format!(
        "{label}: {percent:>3}% ({} / {} KiB)",
        done >> 10,
        total >> 10
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_shows_percent_and_sizes() {
        assert_eq!(
            super::line("pulling x", 512 << 10, 1 << 20),
            "pulling x:  50% (512 / 1024 KiB)"
        );
    }
}
