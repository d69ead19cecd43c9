//! The guest's own thread and the watchdog that gives up on it. Neither epochs nor fuel reach
//! into a host call, and the `poll_oneoff` shadow covers only a sleep; a guest blocked in any
//! other host call is abandoned on its thread when the wall limit and a grace have passed.

use std::sync::mpsc;
use std::thread::Builder;
use std::time::Duration;

/// How long past the wall limit (or, in wasmer, a limit's request to stop) a watchdog waits for
/// a guest stuck in a host call before it abandons it.
pub const WATCHDOG_GRACE: Duration = Duration::from_millis(250);

/// What `guest` returned on the thread `thread` starts, or None when it had not returned
/// `wall` plus [`WATCHDOG_GRACE`] from now (its thread, and the store on it, are left behind).
pub fn run_watched<R: Send + 'static>(
    thread: Builder,
    wall: Duration,
    guest: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<Option<R>> {
    let (tx, rx) = mpsc::channel();
    thread.spawn(move || {
        let _ = tx.send(guest());
    })?;
    Ok(rx.recv_timeout(wall + WATCHDOG_GRACE).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_guest_that_returns_is_waited_for_and_one_that_hangs_is_given_up() {
        let quick = run_watched(Builder::new(), Duration::ZERO, || 7).unwrap();
        assert_eq!(quick, Some(7));
        let start = Instant::now();
        let stuck = run_watched(Builder::new(), Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5))
        });
        assert_eq!(stuck.unwrap(), None);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(50) + WATCHDOG_GRACE,
            "{waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
