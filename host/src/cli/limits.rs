//! Process limits the CLI adjusts at start.
//!
//! `run` keeps one HTTP connection per in-flight request of every task, and
//! with `--local` the emulator's sockets and container pipes too: a thousand
//! tasks outgrow the usual soft limit of 1,024 open files. The hard limit is
//! the administrator's ceiling, so at start the CLI raises its soft
//! `RLIMIT_NOFILE` to the hard one (any process may), and says so with `-v`.

/// Raises the soft limit on open files to the hard limit; returns the
/// `(before, after)` soft limits when it changed.
pub fn raise_open_files() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur >= lim.rlim_max {
        return None;
    }
    let before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit only reads the struct; raising the soft limit up to
    // the hard limit needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return None;
    }
    Some((before, lim.rlim_cur))
}

/// The current soft and hard limits on open files.
pub fn open_files() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some((lim.rlim_cur, lim.rlim_max))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        super::raise_open_files();
        let (soft, hard) = super::open_files().unwrap();
        assert_eq!(soft, hard);
        assert_eq!(super::raise_open_files(), None, "nothing left to raise");
    }
}
