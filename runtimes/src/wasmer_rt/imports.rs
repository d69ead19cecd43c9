//! The Preview 1 imports wrapped at instantiation: each call counted, and `path_open` / `fd_close` kept within the fd budget.

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
