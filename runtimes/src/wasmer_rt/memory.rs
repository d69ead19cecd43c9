//! One memory budget for the guest through wasmer's `Tunables`: every memory is created and grown through it, and tables are charged their initial entries.

use super::*;

pub(super) struct LimitTunables {
    pub(super) base: BaseTunables,
    pub(super) run: Arc<RunState>,
    pub(super) vmconfig: VMConfig,
}

pub(super) fn pages_bytes(p: Pages) -> u64 {
    p.0 as u64 * wasmer::WASM_PAGE_SIZE as u64
}

impl LimitTunables {
    pub(super) fn limited(&self, m: VMMemory) -> VMMemory {
        VMMemory(Box::new(LimitedMemory {
            inner: m,
            run: self.run.clone(),
        }))
    }
    /// Tables are charged their initial entries (wasmer grows them without asking the tunables,
    /// so growth is bounded by the module's declared maximum only).
    pub(super) fn admit_table(&self, ty: &TableType) -> Result<(), String> {
        let bytes = ty.minimum as u64 * crate::host::memory::TABLE_ENTRY_BYTES;
        match self.run.admit(0, bytes) {
            true => Ok(()),
            false => Err(format!(
                "memory limit: a table of {} entries passes the limit",
                ty.minimum
            )),
        }
    }
    pub(super) fn admit_initial(&self, ty: &MemoryType) -> Result<(), MemoryError> {
        let bytes = pages_bytes(ty.minimum);
        match self.run.admit(0, bytes) {
            true => Ok(()),
            false => Err(MemoryError::MinimumMemoryTooLarge {
                min_requested: ty.minimum,
                max_allowed: Pages(
                    (self.run.memory.lock().unwrap().max() / wasmer::WASM_PAGE_SIZE as u64) as u32,
                ),
            }),
        }
    }
}

impl Tunables for LimitTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(memory)
    }
    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(table)
    }
    fn create_host_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
    ) -> Result<VMMemory, MemoryError> {
        self.admit_initial(ty)?;
        Ok(self.limited(self.base.create_host_memory(ty, style)?))
    }
    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        self.admit_initial(ty)?;
        // SAFETY: forwarded unchanged; the caller upholds the base implementation's contract.
        let m = unsafe {
            self.base
                .create_vm_memory(ty, style, vm_definition_location)?
        };
        Ok(self.limited(m))
    }
    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.admit_table(ty)?;
        self.base.create_host_table(ty, style)
    }
    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        self.admit_table(ty)?;
        // SAFETY: forwarded unchanged; the caller upholds the base implementation's contract.
        unsafe { self.base.create_vm_table(ty, style, vm_definition_location) }
    }
    fn vmconfig(&self) -> &VMConfig {
        &self.vmconfig
    }
}

/// A linear memory that asks [`RunState::admit`] before it grows.
#[derive(Debug)]
pub(super) struct LimitedMemory {
    pub(super) inner: VMMemory,
    pub(super) run: Arc<RunState>,
}

impl LinearMemory for LimitedMemory {
    fn ty(&self) -> MemoryType {
        self.inner.ty()
    }
    fn size(&self) -> Pages {
        self.inner.size()
    }
    fn style(&self) -> MemoryStyle {
        self.inner.style()
    }
    fn grow(&mut self, delta: Pages) -> Result<Pages, MemoryError> {
        let cur = self.inner.size();
        let new = pages_bytes(cur) + pages_bytes(delta);
        if !self.run.admit(pages_bytes(cur), new) {
            return Err(MemoryError::CouldNotGrow {
                current: cur,
                attempted_delta: delta,
            });
        }
        self.inner.grow(delta)
    }
    fn grow_at_least(&mut self, min_size: u64) -> Result<(), MemoryError> {
        let cur = pages_bytes(self.inner.size());
        if min_size > cur && !self.run.admit(cur, min_size) {
            return Err(MemoryError::CouldNotGrow {
                current: self.inner.size(),
                attempted_delta: Pages(
                    (min_size - cur).div_ceil(wasmer::WASM_PAGE_SIZE as u64) as u32
                ),
            });
        }
        self.inner.grow_at_least(min_size)
    }
    fn reset(&mut self) -> Result<(), MemoryError> {
        self.inner.reset()
    }
    fn vmmemory(&self) -> NonNull<VMMemoryDefinition> {
        self.inner.vmmemory()
    }
    fn try_clone(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        LinearMemory::try_clone(&self.inner)
    }
    unsafe fn initialize_with_data(
        &self,
        start: usize,
        data: &[u8],
    ) -> Result<(), wasmer::sys::vm::Trap> {
        // SAFETY: forwarded unchanged; the caller upholds the inner memory's contract.
        unsafe { self.inner.initialize_with_data(start, data) }
    }
    fn copy(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        LinearMemory::copy(&self.inner)
    }
    fn as_shared(&self) -> Result<VMSharedMemory, MemoryError> {
        self.inner.as_shared()
    }
    unsafe fn do_wait(
        &mut self,
        dst: u32,
        expected: ExpectedValue,
        timeout: Option<Duration>,
    ) -> Result<u32, WaiterError> {
        // SAFETY: forwarded unchanged; the caller upholds the inner memory's contract.
        unsafe { self.inner.do_wait(dst, expected, timeout) }
    }
    fn do_notify(&mut self, dst: u32, count: u32) -> u32 {
        self.inner.do_notify(dst, count)
    }
    fn thread_conditions(&self) -> Option<&ThreadConditions> {
        self.inner.thread_conditions()
    }
}

impl Drop for LimitedMemory {
    fn drop(&mut self) {
        let bytes = pages_bytes(self.inner.size());
        self.run.memory.lock().unwrap().release(bytes);
    }
}
