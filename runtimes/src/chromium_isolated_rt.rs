//! `chromium` served cross-origin isolated (COOP `same-origin`, COEP `require-corp`): the same
//! browser, shim and page as `chromium_rt`, with the clock the page gets when isolated.

pub const ENTRY: crate::registry::Entry =
    crate::registry::Entry::new("chromium-isolated", |env| {
        Ok(Box::new(crate::chromium_rt::ChromiumRuntime::new(
            env, true,
        )?))
    });
