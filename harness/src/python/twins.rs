//! The Python twins: probes written in Python that speak the probe protocol and are judged by
//! the C probes' checks, with what each cannot express. A table only, so that selecting probes
//! (the plan) needs nothing else of the Python cells.

/// A Python twin of a C probe.
pub struct Twin {
    /// The probe column of its cells (`py-entropy`).
    pub probe: &'static str,
    /// Its script in `probes/python/`.
    pub script: &'static str,
    /// The C probe whose checks judge it.
    pub twin_of: &'static str,
    /// Checks of that probe the twin cannot serve, with the reason: their cells are `skip`
    /// with the reason, never a pass. Declared here (not by the guest) so a guest cannot excuse
    /// itself.
    pub unobservable: &'static [(&'static str, &'static str)],
    /// Parts of checks the twin cannot serve while the rest of the check can: (check, part,
    /// why), a part being an operation or `operation.field` of the C probe's report. The check
    /// leaves exactly these unjudged and lists them under `not_observable` in its evidence
    /// (`Case::unobservable`); a check that does not know a part ignores it.
    pub unobservable_parts: &'static [(&'static str, &'static str, &'static str)],
}

pub const TWINS: &[Twin] = &[
    Twin {
        probe: "py-entropy",
        script: "entropy.py",
        twin_of: "entropy",
        unobservable: &[
            ("entropy_fill", "Python cannot hand random_get a caller-filled buffer: os.urandom and secrets allocate a fresh bytes object, so no sentinel survives to be seen"),
            ("entropy_edges", "getentropy(257), random_get(0) and a single 1 MiB random_get are not reachable from Python: os.urandom splits requests into 256-byte getentropy calls and returns b'' for 0 without a call"),
        ],
        unobservable_parts: &[],
    },
    Twin {
        probe: "py-clocks",
        script: "clocks.py",
        twin_of: "clocks",
        unobservable: &[
            ("clock_poll", "Python exposes no poll_oneoff subscription or event (nevents, userdata, event type); time.sleep's timing is judged by clock_sleep"),
        ],
        unobservable_parts: &[],
    },
    Twin {
        probe: "py-fs",
        script: "fs.py",
        twin_of: "fs",
        unobservable: &[],
        unobservable_parts: &[
            ("fs_meta", "futimens:now.txt", "UTIME_OMIT/UTIME_NOW cannot be spelled in Python: os.utime takes explicit times (ns= splits them into a tv_nsec in [0, 1e9), never the UTIME_* markers) or none (both set to now), so 'keep atime, stamp mtime with the host clock' has no call"),
            ("fs_dirs", "readdir-1000.seek_stable", "Python has no telldir/seekdir: os.scandir and os.listdir read a directory start to end, so no fd_readdir cookie is ever handed back"),
            ("fs_dirs", "readdir-1000.rewind_count", "Python has no rewinddir: os.scandir/os.listdir open the directory afresh (scandir on an fd, which rewinds, is not in os.supports_fd on this WASI build)"),
            ("fs_fds", "preopens", "Python has no binding for fd_prestat_get/fd_prestat_dir_name, so the preopens cannot be enumerated"),
            ("fs_fds", "renumber", "fd_renumber is not reachable from Python: os.dup2 does not exist in this WASI build and os.dup fails with ENOTSUP"),
        ],
    },
];

/// The probe names Python cells answer to (`--probe`).
pub fn probe_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = TWINS.iter().map(|t| t.probe).collect();
    v.push(wasiprobe_model::python::CENSUS_PROBE);
    v.push(wasiprobe_model::python::EXT_PROBE);
    v.push(super::regrtest::PROBE);
    v.push(super::browser::PROBE);
    v
}
