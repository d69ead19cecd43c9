//! Checks of the libc itself rather than of a runtime: what an SDK bump changes for every
//! program built with it. Their probes make (almost) no host calls, so no liar can reach them;
//! their negative controls are broken probe outputs fed to `judge` in the unit tests.

area_checks! {
    abi::LibcAbi,
    stubs::LibcStubs,
    posix::LibcPosix,
    sleep_clock::LibcSleepClock,
    tsd::LibcTsd,
    process_clocks::LibcProcessClocks,
}
