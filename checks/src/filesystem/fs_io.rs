//! `fs_io`: the data path — write, pwrite/pread, lseek/tell, O_APPEND, O_TRUNC, ftruncate,
//! fsync/fdatasync and offsets past 4 GiB — judged on what the guest read back and on the bytes
//! the host holds afterwards.

use super::{case, Judge, PROBE};
use crate::stdio::lcg_bytes;
use crate::{hex, Case, Judgement, Observed};
use serde_json::json;

pub const DATA_BYTES: usize = 100_000;
pub const SPARSE_AT: u64 = 5 << 30;

/// data.bin as the probe leaves it: an LCG stream with "PWRITE" at offset 5000.
pub fn data_bin() -> Vec<u8> {
    let mut d = lcg_bytes(11, DATA_BYTES);
    d[5000..5006].copy_from_slice(b"PWRITE");
    d
}

pub fn ftrunc_bin() -> Vec<u8> {
    let mut d = lcg_bytes(13, 10);
    d.extend([0u8; 10]);
    d
}

check! {
    FsIo: "fs_io", probe PROBE, area "filesystem",
    case case(),
    controls ["fd_write:short-file-writes", "fd_sync:drop-data", "preopen:wrong-dir"]
}

impl FsIo {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_io");
        j.ok("setup");
        if let Some(ob) = j.ok("write:data.bin") {
            j.expect(ob, "ret", json!(DATA_BYTES));
        }
        if let Some(ob) = j.ok("pwrite:data.bin") {
            j.expect(ob, "ret", json!(6));
        }
        if let Some(ob) = j.ok("tell-after-pwrite") {
            // pwrite must not move the file offset.
            j.expect(ob, "ret", json!(0));
        }
        if let Some(ob) = j.ok("pread:data.bin") {
            j.expect(ob, "hex", json!(hex(b"PWRITE")));
        }
        if let Some(ob) = j.ok("seek-end") {
            j.expect(ob, "ret", json!(DATA_BYTES));
        }
        if let Some(ob) = j.ok("seek-read") {
            j.expect(ob, "hex", json!(hex(&lcg_bytes(11, 14)[10..])));
        }
        if let Some(ob) = j.ok("read-back:data.bin") {
            j.expect(ob, "matches", json!(true));
        }
        if let Some(ob) = j.ok("append") {
            j.expect(ob, "hex", json!(hex(b"one\ntwo\n")));
        }
        j.ok("o_trunc");
        if let Some(ob) = j.ok("ftruncate") {
            j.expect(ob, "hex", json!(hex(&ftrunc_bin())));
        }
        j.ok("fsync");
        j.ok("fdatasync");
        if let Some(ob) = j.ok("sparse-pwrite") {
            j.expect(ob, "ret", json!(3));
        }
        if let Some(ob) = j.ok("sparse-size") {
            j.expect(ob, "ret", json!(SPARSE_AT + 3));
        }
        if let Some(ob) = j.ok("sparse-pread") {
            j.expect(ob, "hex", json!(hex(b"END")));
        }
        if let Some(ob) = j.ok("seek-past-4g") {
            j.expect(ob, "ret", json!((4u64 << 30) + 1));
        }
        j.op("done");

        // The host's side: every file holds what the guest's successful calls promise.
        j.host_bytes(
            "work/data.bin",
            &data_bin(),
            json!("100000 LCG bytes written in uneven chunks, PWRITE at 5000"),
        );
        j.host_bytes(
            "work/append.txt",
            b"one\ntwo\n",
            json!("O_APPEND write, seek to 0, second write"),
        );
        j.host_bytes("work/trunc.txt", b"ab", json!("O_TRUNC then \"ab\""));
        j.host_bytes(
            "work/ftrunc.bin",
            &ftrunc_bin(),
            json!("1000 bytes, ftruncate 10, ftruncate 20"),
        );
        j.host_bytes(
            "work/synced.bin",
            &lcg_bytes(17, 65536),
            json!("65536 bytes, fsync, fdatasync, close"),
        );
        sparse_on_host(&mut j);
        j.finish(json!({}))
    }
}

fn sparse_on_host(j: &mut Judge) {
    use std::io::{Read, Seek, SeekFrom};
    let Some(p) = j.host("work/sparse.bin") else {
        return;
    };
    let view = (|| -> std::io::Result<(u64, Vec<u8>, u8)> {
        let mut f = std::fs::File::open(&p)?;
        let len = f.metadata()?.len();
        let mut end = vec![0u8; 3];
        f.seek(SeekFrom::Start(SPARSE_AT))?;
        f.read_exact(&mut end)?;
        let mut hole = [0u8; 1];
        f.seek(SeekFrom::Start(4 << 30))?;
        f.read_exact(&mut hole)?;
        Ok((len, end, hole[0]))
    })();
    let guest = json!({ "size": SPARSE_AT + 3, "at_5GiB": "END", "at_4GiB": 0 });
    match view {
        Ok((len, end, hole)) if len == SPARSE_AT + 3 && end == b"END" && hole == 0 => {}
        Ok((len, end, hole)) => j.mismatch(
            "work/sparse.bin",
            guest,
            json!({ "size": len, "at_5GiB": String::from_utf8_lossy(&end), "at_4GiB": hole }),
        ),
        Err(e) => j.mismatch("work/sparse.bin", guest, json!({ "error": e.to_string() })),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::filesystem::testutil::*;
    use std::fs;

    /// The probe's output and host tree for an honest run.
    pub fn honest() -> Run {
        let mut r = Run::new();
        let w = r.scratch().join("work");
        fs::write(w.join("data.bin"), data_bin()).unwrap();
        fs::write(w.join("append.txt"), b"one\ntwo\n").unwrap();
        fs::write(w.join("trunc.txt"), b"ab").unwrap();
        fs::write(w.join("ftrunc.bin"), ftrunc_bin()).unwrap();
        fs::write(w.join("synced.bin"), lcg_bytes(17, 65536)).unwrap();
        let f = fs::File::create(w.join("sparse.bin")).unwrap();
        f.set_len(SPARSE_AT).unwrap();
        drop(f);
        use std::io::Write;
        fs::OpenOptions::new()
            .append(true)
            .open(w.join("sparse.bin"))
            .unwrap()
            .write_all(b"END")
            .unwrap();
        let c = "fs_io";
        r.op(c, "setup", json!({}))
            .op(c, "write:data.bin", json!({ "ret": DATA_BYTES }))
            .op(c, "pwrite:data.bin", json!({ "ret": 6 }))
            .op(c, "tell-after-pwrite", json!({ "ret": 0 }))
            .op(
                c,
                "pread:data.bin",
                json!({ "ret": 6, "hex": hex(b"PWRITE") }),
            )
            .op(c, "seek-end", json!({ "ret": DATA_BYTES }))
            .op(
                c,
                "seek-read",
                json!({ "ret": 4, "hex": hex(&lcg_bytes(11, 14)[10..]) }),
            )
            .op(
                c,
                "read-back:data.bin",
                json!({ "ret": DATA_BYTES, "matches": true }),
            )
            .op(c, "append", json!({ "ret": 4, "hex": hex(b"one\ntwo\n") }))
            .op(c, "o_trunc", json!({ "ret": 2 }))
            .op(c, "ftruncate", json!({ "hex": hex(&ftrunc_bin()) }))
            .op(c, "fsync", json!({}))
            .op(c, "fdatasync", json!({}))
            .op(c, "sparse-pwrite", json!({ "ret": 3 }))
            .op(c, "sparse-size", json!({ "ret": SPARSE_AT + 3 }))
            .op(c, "sparse-pread", json!({ "ret": 3, "hex": hex(b"END") }))
            .op(c, "seek-past-4g", json!({ "ret": (4u64 << 30) + 1 }))
            .op(c, "done", json!({}));
        r
    }

    #[test]
    fn honest_run_passes() {
        assert_verdict(&honest().judge(&FsIo), Verdict::Pass);
    }

    #[test]
    fn host_bytes_that_differ_from_the_guests_claim_fail_with_both_views() {
        let r = honest();
        fs::write(r.scratch().join("work/synced.bin"), b"").unwrap();
        let j = r.judge(&FsIo);
        assert_verdict(&j, Verdict::Fail);
        let m = &j.evidence["mismatches"][0];
        assert_eq!(m["what"], "work/synced.bin");
        assert_eq!(m["host"]["bytes"], 0);
    }

    #[test]
    fn a_moved_offset_a_wrapped_seek_or_a_missing_op_fail() {
        assert_each_edit_fails(
            &FsIo,
            honest,
            &[
                ("tell-after-pwrite", "ret", json!(6)),
                ("seek-past-4g", "ret", json!(1)),
                ("read-back:data.bin", "matches", json!(false)),
                ("fsync", "ret", json!(-1)),
            ],
        );
        let mut r = honest();
        r.remove("done");
        assert_verdict(&r.judge(&FsIo), Verdict::Fail);
    }
}
