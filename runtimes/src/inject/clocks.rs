//! Liars on time: clocks that freeze, step back or jump, and a poll_oneoff that returns early or late.

use super::*;
use crate::host::poll::slept_to_deadline;

pub(super) const CLOCK_REALTIME: i32 = 0;

pub(super) const CLOCK_MONOTONIC: i32 = 1;

pub(super) fn real_clock(
    caller: &mut Caller<'_, Host>,
    id: i32,
    precision: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    real(caller, |ctx, m| {
        p1::clock_time_get(ctx, m, id, precision, out)
    })?
}

pub(super) fn clock_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    let mode = liar_mode("clock_time_get", mode)?;
    linker.func_wrap(
        P1,
        "clock_time_get",
        move |mut caller: Caller<'_, Host>,
              id: i32,
              precision: i64,
              out: i32|
              -> wasmtime::Result<i32> {
            caller
                .data_mut()
                .count(const { calls::id("clock_time_get") });
            let cpu = id == 2 || id == 3;
            let source = if mode == "cpu-is-wall" && cpu {
                CLOCK_MONOTONIC
            } else {
                id
            };
            let errno = real_clock(&mut caller, source, precision, out)?;
            if errno != 0 {
                return Ok(errno);
            }
            let mem = memory(&mut caller)?;
            let t = read_u64(&caller, &mem, out as u32)?;
            let lie = match (mode, id) {
                ("step-back", CLOCK_MONOTONIC) => {
                    let n = caller.data_mut().liar_state.entry("reads").or_insert(0);
                    *n += 1;
                    // One glitch, not a new offset: a persistent offset would also make
                    // absolute-time sleeps (which the host times on the true clock) look early.
                    if *n == 1000 {
                        t.saturating_sub(1_000_000)
                    } else {
                        t
                    }
                }
                ("freeze", CLOCK_MONOTONIC) => {
                    *caller.data_mut().liar_state.entry("frozen").or_insert(t)
                }
                ("coarse-claims-1ns", CLOCK_MONOTONIC) => t - t % 10_000_000,
                ("realtime-plus-1h", CLOCK_REALTIME) => t + 3_600_000_000_000,
                _ => t,
            };
            write_u64(&mut caller, &mem, out as u32, lie)?;
            Ok(0)
        },
    )?;
    if mode == "coarse-claims-1ns" || mode == "cpu-is-wall" {
        linker.func_wrap(
            P1,
            "clock_res_get",
            move |mut caller: Caller<'_, Host>, id: i32, out: i32| -> wasmtime::Result<i32> {
                caller
                    .data_mut()
                    .count(const { calls::id("clock_res_get") });
                let claims_1ns = match mode {
                    "coarse-claims-1ns" => id == CLOCK_MONOTONIC,
                    _ => id == 2 || id == 3,
                };
                if !claims_1ns {
                    return real(&mut caller, |ctx, m| p1::clock_res_get(ctx, m, id, out))?;
                }
                let mem = memory(&mut caller)?;
                write_u64(&mut caller, &mem, out as u32, 1)?;
                Ok(0)
            },
        )?;
    }
    Ok(())
}

/// Preview 1 layouts: a subscription is 48 bytes (userdata u64 @0, tag u8 @8, clock id u32 @16,
/// timeout u64 @24, precision u64 @32, flags u16 @40); an event is 32 bytes (userdata u64 @0).
pub(super) fn poll_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    let half = match mode {
        "half" => true,
        "wrong-userdata" => false,
        _ => wasmtime::bail!("unknown poll_oneoff liar {mode}"),
    };
    wrap_poll_oneoff(linker, move |caller, args| {
        let (subs, events, n, nevents) = args;
        let mem = memory(caller)?;
        if half {
            for i in 0..n as u32 {
                let s = subs as u32 + 48 * i;
                let mut tag = [0u8; 1];
                mem.read(&*caller, s as usize + 8, &mut tag)?;
                if tag[0] != 0 {
                    continue;
                }
                let timeout = read_u64(caller, &mem, s + 24)?;
                let mut flags = [0u8; 2];
                mem.read(&*caller, s as usize + 40, &mut flags)?;
                let new = if flags[0] & 1 == 1 {
                    // Absolute: halve the time left. The timeout field is borrowed as the
                    // out-parameter for reading "now" on the subscription's own clock.
                    let clock = read_u32(caller, &mem, s + 16)? as i32;
                    real_clock(caller, clock, 0, (s + 24) as i32)?;
                    let now = read_u64(caller, &mem, s + 24)?;
                    now + timeout.saturating_sub(now) / 2
                } else {
                    timeout / 2
                };
                write_u64(caller, &mem, s + 24, new)?;
            }
        }
        let errno = real_poll_oneoff(caller, args)?;
        if !half && errno == 0 {
            let got = read_u32(caller, &mem, nevents as u32)?;
            for i in 0..got {
                let at = events as u32 + 32 * i;
                let u = read_u64(caller, &mem, at)?;
                write_u64(caller, &mem, at, u ^ 0xdead_0000)?;
            }
        }
        Ok(errno)
    })
}

/// `poll_oneoff` that will not sleep past the case's wall limit (installed in the base linker;
/// a poll liar shadows it). Epoch interruption cannot reach a guest asleep in a host call: when
/// every subscription is a clock and the earliest would fire after the deadline, the guest
/// sleeps until the deadline and is stopped there with the epoch's own trap, so the run ends
/// (a timeout) and its store is freed, where the watchdog could only abandon it.
pub fn install_poll_deadline(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    wrap_poll_oneoff(linker, |caller, args| {
        let (subs, _, n, _) = args;
        let wait = clock_wait(caller, subs as u32, n as u32)?;
        if slept_to_deadline(wait, caller.data().deadline) {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        real_poll_oneoff(caller, args)
    })
}

/// `poll_oneoff`'s arguments as the guest passed them: subscriptions, events, the number of
/// subscriptions, and where the number of events goes.
type PollArgs = (i32, i32, i32, i32);

/// Shadows `poll_oneoff` with `f`, which is given the guest's arguments; the call is counted.
fn wrap_poll_oneoff(
    linker: &mut Linker<Host>,
    f: impl Fn(&mut Caller<'_, Host>, PollArgs) -> wasmtime::Result<i32> + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "poll_oneoff",
        move |mut caller: Caller<'_, Host>, subs: i32, events: i32, n: i32, nevents: i32| {
            caller.data_mut().count(const { calls::id("poll_oneoff") });
            f(&mut caller, (subs, events, n, nevents))
        },
    )?;
    Ok(())
}

/// wasmtime-wasi's `poll_oneoff` with these arguments; its errno.
fn real_poll_oneoff(
    caller: &mut Caller<'_, Host>,
    (subs, events, n, nevents): PollArgs,
) -> wasmtime::Result<i32> {
    real(caller, |ctx, m| {
        in_tokio(p1::poll_oneoff(ctx, m, subs, events, n, nevents))
    })?
}

/// [`crate::host::poll::clock_wait`] as wasmtime-wasi sleeps: an absolute deadline on either
/// clock, realtime read from the system clock (wasmtime-wasi's default wall clock), monotonic
/// read through wasmtime-wasi's own `clock_time_get` into the first subscription's precision
/// field, which is put back before the real call sees it.
fn clock_wait(
    caller: &mut Caller<'_, Host>,
    subs: u32,
    n: u32,
) -> wasmtime::Result<Option<std::time::Duration>> {
    use crate::host::poll::SUBSCRIPTION_BYTES;
    let mem = memory(caller)?;
    let Some(len) = (n as usize).checked_mul(SUBSCRIPTION_BYTES) else {
        return Ok(None);
    };
    let Some(bytes) = mem
        .data(&*caller)
        .get(subs as usize..)
        .and_then(|d| d.get(..len))
        .map(<[u8]>::to_vec)
    else {
        return Ok(None);
    };
    let mut failed = None;
    let wait = crate::host::poll::clock_wait(&bytes, n as usize, |id| match id as i32 {
        CLOCK_REALTIME => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_nanos()).ok()),
        _ => {
            let out = subs + 32;
            let r = real_clock(caller, CLOCK_MONOTONIC, 0, out as i32).and_then(|errno| {
                let now = read_u64(caller, &mem, out)?;
                mem.write(&mut *caller, out as usize, &bytes[32..40])?;
                Ok((errno == 0).then_some(now))
            });
            r.unwrap_or_else(|e| {
                failed = Some(e);
                None
            })
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(wait),
    }
}
