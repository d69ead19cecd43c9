//! The Preview 1 imports wrapped at instantiation: each call counted, `path_open` / `fd_close`
//! kept within the fd budget, and a clock-only `poll_oneoff` that would block past the
//! deadline ended there.
//!
//! The shadow of `poll_oneoff` predicts how long wasmer-wasix 0.704.2 itself would block, from
//! its `src/syscalls/wasi/poll_oneoff.rs` (`poll_oneoff`, `poll_oneoff_internal`), read for this:
//! - a clock subscription's timeout of 0 is taken as no timeout at all (`time_to_sleep =
//!   Duration::MAX`, "an immediate check rather than a sleep"), so a lone relative 0 ns sleep
//!   — `nanosleep(0)` in wasi-libc — blocks for ever; 1 means do not block;
//! - an absolute timeout is read against CLOCK_MONOTONIC whatever the subscription's clock;
//! - clocks other than realtime and monotonic are EINVAL at once (nothing to shadow);
//! - the subscriptions are visited in an order rotated per call (`poll_seed`) and each clock
//!   overwrites the wait, so with several clocks the wait is one of theirs: the shadow acts only
//!   when even the shortest of them passes the deadline.
//! Without the shadow such a guest sleeps on (wasmer's plain or async sleep is not woken by the
//! WASIX SIGKILL the watchdog sends), and its thread and memories are abandoned until exit.

use super::*;

/// Wraps every Preview 1 import the module uses: each call is counted, and `path_open` /
/// `fd_close` keep the open-file count.
#[derive(Debug)]
pub(super) struct Shim {
    pub(super) run: Arc<RunState>,
    pub(super) acct: Mutex<Option<FunctionEnv<Acct>>>,
}

#[derive(Debug)]
pub(super) struct Acct {
    pub(super) run: Arc<RunState>,
    pub(super) memory: Option<Memory>,
    pub(super) fd_close: Option<Function>,
    pub(super) fds: FdBudget,
}

impl InstantiationHook for Shim {
    fn prepare_imports(
        &self,
        module: &Module,
        store: &mut wasmer::StoreMut,
        imports: &mut Imports,
    ) -> anyhow::Result<InstantiationState> {
        let fd_close = match imports.get_export(P1, "fd_close") {
            Some(Extern::Function(f)) => Some(f),
            _ => None,
        };
        let env = FunctionEnv::new(
            store,
            Acct {
                run: self.run.clone(),
                memory: None,
                fd_close,
                fds: FdBudget::new(self.run.max_open_files),
            },
        );
        for import in module.imports() {
            if import.module() != P1 {
                continue;
            }
            let name = import.name();
            let Some(id) = wasiprobe_coverage::PREVIEW1
                .iter()
                .position(|f| f.name == name)
            else {
                continue;
            };
            let Some(Extern::Function(real)) = imports.get_export(P1, name) else {
                continue;
            };
            let ty = real.ty(store);
            let wrapped = match name {
                "poll_oneoff" => Function::new_with_env(store, &env, ty, move |ctx, args| {
                    poll_oneoff(ctx, args, &real, id)
                }),
                "path_open" => Function::new_with_env(store, &env, ty, move |ctx, args| {
                    path_open(ctx, args, &real, id)
                }),
                "fd_close" => Function::new_with_env(store, &env, ty, move |mut ctx, args| {
                    let (acct, mut store) = ctx.data_and_store_mut();
                    acct.run.calls[id].fetch_add(1, Ordering::Relaxed);
                    let r = real.call(&mut store, args)?;
                    let errno = r.first().and_then(Value::i32).unwrap_or(-1);
                    acct.fds.closed(args[0].unwrap_i32(), errno);
                    Ok(r.into_vec())
                }),
                _ => Function::new_with_env(store, &env, ty, move |mut ctx, args| {
                    ctx.data().run.calls[id].fetch_add(1, Ordering::Relaxed);
                    let mut store = ctx.as_store_mut();
                    Ok(real.call(&mut store, args)?.into_vec())
                }),
            };
            imports.define(P1, name, wrapped);
        }
        *self.acct.lock().unwrap() = Some(env);
        Ok(InstantiationState::empty())
    }

    fn configure_new_instance(
        &self,
        _module: &Module,
        store: &mut wasmer::StoreMut,
        instance: &Instance,
        imported_memory: Option<&Memory>,
        _state: InstantiationState,
    ) -> anyhow::Result<()> {
        let memory = imported_memory.cloned().or_else(|| {
            instance.exports.iter().find_map(|(_, e)| match e {
                Extern::Memory(m) => Some(m.clone()),
                _ => None,
            })
        });
        if let Some(env) = self.acct.lock().unwrap().as_ref() {
            env.as_mut(store).memory = memory;
        }
        Ok(())
    }
}

fn path_open(
    mut ctx: FunctionEnvMut<Acct>,
    args: &[Value],
    real: &Function,
    id: usize,
) -> Result<Vec<Value>, RuntimeError> {
    let (acct, mut store) = ctx.data_and_store_mut();
    acct.run.calls[id].fetch_add(1, Ordering::Relaxed);
    let r = real.call(&mut store, args)?;
    if r.first().and_then(Value::i32) != Some(0) {
        return Ok(r.into_vec());
    }
    if acct.fds.full() {
        // Over the limit: undo the open and report EMFILE, as a POSIX kernel would.
        let fd_out = args[8].unwrap_i32() as u32 as u64;
        let mut fd = [0u8; 4];
        let memory = acct
            .memory
            .as_ref()
            .ok_or_else(|| RuntimeError::new("path_open: the guest has no memory"))?;
        memory
            .view(&store)
            .read(fd_out, &mut fd)
            .map_err(|e| RuntimeError::new(format!("path_open: read the new fd: {e}")))?;
        if let Some(close) = &acct.fd_close {
            close.call(&mut store, &[Value::I32(i32::from_le_bytes(fd))])?;
        }
        return Ok(vec![Value::I32(ERRNO_MFILE)]);
    }
    acct.fds.opened();
    Ok(r.into_vec())
}

/// Sleeps to the deadline and ends the guest there when the real call would block past it
/// (module docs); otherwise the real call.
fn poll_oneoff(
    mut ctx: FunctionEnvMut<Acct>,
    args: &[Value],
    real: &Function,
    id: usize,
) -> Result<Vec<Value>, RuntimeError> {
    let (acct, mut store) = ctx.data_and_store_mut();
    acct.run.calls[id].fetch_add(1, Ordering::Relaxed);
    let (subs, n) = (args[0].unwrap_i32() as u32, args[2].unwrap_i32() as u32 as usize);
    let bytes = acct.memory.as_ref().and_then(|m| {
        // A guest's count is not trusted with a host allocation; a poll of this many
        // subscriptions is left to wasmer.
        if n > 4096 {
            return None;
        }
        let mut b = vec![0u8; n.checked_mul(crate::host::poll::SUBSCRIPTION_BYTES)?];
        m.view(&store).read(subs as u64, &mut b).ok()?;
        Some(b)
    });
    if let Some(wait) = bytes.and_then(|b| wasmer_wait(&b, n, monotonic_ns)) {
        // None: wasmer-wasix would block for ever.
        let wait = wait.unwrap_or(Duration::MAX);
        if crate::host::poll::slept_to_deadline(Some(wait), acct.run.deadline) {
            acct.run.timed_out.store(true, Ordering::SeqCst);
            return Err(RuntimeError::new(
                "wall-clock limit reached while the guest slept in poll_oneoff",
            ));
        }
    }
    Ok(real.call(&mut store, args)?.into_vec())
}

/// The shortest wait wasmer-wasix could block for on these `n` subscriptions (module docs),
/// `Some(None)` for ever; `None` when it is not a clock-only poll of realtime and monotonic clocks (left to the implementation)
/// or the bytes do not hold `n` subscriptions. `monotonic_ns` is wasmer's reading of
/// CLOCK_MONOTONIC, asked only for an absolute timeout.
pub(super) fn wasmer_wait(
    subs: &[u8],
    n: usize,
    monotonic_ns: impl Fn() -> u64,
) -> Option<Option<Duration>> {
    const SUB: usize = crate::host::poll::SUBSCRIPTION_BYTES;
    if n == 0 || subs.len() < n.checked_mul(SUB)? {
        return None;
    }
    let mut shortest: Option<Duration> = None;
    for s in subs.chunks_exact(SUB).take(n) {
        let id = u32::from_le_bytes(s[16..20].try_into().ok()?);
        if s[8] != 0 || id > 1 {
            return None;
        }
        let timeout = u64::from_le_bytes(s[24..32].try_into().ok()?);
        let ns = match timeout {
            0 => continue,
            1 => 0,
            t if s[40] & 1 == 1 => t.saturating_sub(monotonic_ns()),
            t => t,
        };
        let w = Duration::from_nanos(ns);
        shortest = Some(shortest.map_or(w, |x| x.min(w)));
    }
    Some(shortest)
}

/// CLOCK_MONOTONIC in ns, as wasmer-wasix reads it (`platform_clock_time_get`).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer to a timespec on the stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u32, timeout: u64, absolute: bool) -> Vec<u8> {
        let mut s = vec![0u8; crate::host::poll::SUBSCRIPTION_BYTES];
        s[16..20].copy_from_slice(&id.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s[40] = absolute as u8;
        s
    }

    #[test]
    fn the_wait_is_wasmer_wasixs_own() {
        let now = || 1_000;
        let ms = Duration::from_millis;
        assert_eq!(wasmer_wait(&sub(1, 5_000_000, false), 1, now), Some(Some(ms(5))));
        // 0 is no timeout at all, 1 is none; a realtime absolute deadline is read on the
        // monotonic clock.
        assert_eq!(wasmer_wait(&sub(1, 0, false), 1, now), Some(None));
        assert_eq!(wasmer_wait(&sub(0, 1, false), 1, now), Some(Some(ms(0))));
        assert_eq!(wasmer_wait(&sub(0, 1_000_000 + 1_000, true), 1, now), Some(Some(ms(1))));
        assert_eq!(wasmer_wait(&sub(1, 500, true), 1, now), Some(Some(ms(0))));
        // Several clocks: the shortest, since any of them may be the one that counts.
        let two = [sub(1, 0, false), sub(1, 7_000_000, false)].concat();
        assert_eq!(wasmer_wait(&two, 2, now), Some(Some(ms(7))));
    }

    #[test]
    fn what_it_cannot_predict_is_left_to_wasmer() {
        let now = || 0;
        let mut fd = sub(0, 0, false);
        fd[8] = 1;
        assert_eq!(wasmer_wait(&fd, 1, now), None);
        assert_eq!(wasmer_wait(&sub(2, 5, false), 1, now), None, "EINVAL at once");
        assert_eq!(wasmer_wait(&sub(1, 5, false), 2, now), None, "short bytes");
        assert_eq!(wasmer_wait(&[], 0, now), None);
    }
}
