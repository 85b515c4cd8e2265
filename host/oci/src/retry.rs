//! Retries with exponential backoff, honouring `Retry-After`.

use crate::error::Error;
use std::time::Duration;

/// How often and how patiently to retry registry requests.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// The longest wait between attempts (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (0-based `attempt` just failed).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        retry_after.unwrap_or(backoff).min(self.max_delay)
    }
}

/// The outcome of one failed attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Transient: try again (after `after`, if the server said so); report `error` if it was the last.
    Retry {
        /// What to report if no attempt is left.
        error: Error,
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
    /// Permanent: report now.
    Fail(Error),
}

impl From<Error> for Attempt {
    fn from(error: Error) -> Attempt {
        Attempt::Fail(error)
    }
}

/// Runs `op` until it succeeds, fails permanently, or runs out of attempts.
pub(crate) async fn retry<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Fail(error)) => return Err(error),
            Err(Attempt::Retry { error, after }) => {
                if attempt + 1 >= policy.attempts {
                    return Err(match error {
                        Error::Registry {
                            reference,
                            operation,
                            message,
                        } => Error::Registry {
                            reference,
                            operation,
                            message: format!("{message} (gave up after {} attempts)", attempt + 1),
                        },
                        other => other,
                    });
                }
                let wait = policy.delay(attempt, after);
                tracing::warn!("{error}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(p.delay(0, None), Duration::from_millis(100));
        assert_eq!(p.delay(1, None), Duration::from_millis(200));
        assert_eq!(p.delay(2, None), Duration::from_millis(350));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(60))),
            Duration::from_millis(350)
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn gives_up_after_the_last_attempt_and_says_so() {
        let p = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        };
        let mut calls = 0;
        let result: Result<(), Error> = retry(&p, || {
            calls += 1;
            async {
                Err(Attempt::Retry {
                    error: Error::Registry {
                        reference: "r".into(),
                        operation: "pull",
                        message: "HTTP 503".into(),
                    },
                    after: None,
                })
            }
        })
        .await;
        assert_eq!(calls, 3);
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("gave up after 3 attempts")
        );
    }
}
