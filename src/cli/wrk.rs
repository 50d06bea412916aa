//! The load generator of `kontor bench api`: `wrk` in a second process, driven by a Lua
//! script (random paths; optionally paced to a rate), and its report parsed.

use std::path::Path;
use std::process::Command;

/// One wrk run: latency percentiles (ms) and requests per second.
pub(super) struct Load {
    pub(super) p50: f64,
    pub(super) p90: f64,
    pub(super) p99: f64,
    pub(super) rps: f64,
    pub(super) errors: u64,
    pub(super) requests: u64,
}

fn ms(s: &str) -> f64 {
    let s = s.trim();
    let (num, factor) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().map_or(f64::NAN, |n| n * factor)
}

/// wrk's `delay` hook (LuaJIT, monotonic clock) sending at `rate` requests per second over
/// all connections: request `k` is due at `start + k / rate`; a connection that is free waits
/// for the next slot (wrk rounds to whole milliseconds, so requests leave in small bursts).
/// Slots more than 100 ms in the past are dropped: a server that cannot keep up shows as a
/// lower req/s than `rate`, not as a growing queue in the load generator. Latency is from
/// sending to the answer (closed loop, as wrk measures it; a stall delays the next sends
/// instead of counting against them).
fn pacing(rate: f64) -> String {
    format!(
        "local ffi = require(\"ffi\")\n\
         ffi.cdef[[ typedef struct {{ long tv_sec; long tv_nsec; }} kontor_ts; int clock_gettime(int, kontor_ts*); ]]\n\
         local ts = ffi.new(\"kontor_ts\")\n\
         local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6 end\n\
         local interval, due = {interval}, nil\n\
         delay = function()\n  local t = now()\n  if due == nil or due < t - 100 then due = t end\n  due = due + interval\n  \
         if due <= t then return 0 end\n  return math.floor(due - t + 0.5)\nend\n",
        interval = 1000.0 / rate
    )
}

/// What wrk sends requests to: a server, its paths (one picked at random per request) and the
/// bearer token, if any.
pub(super) struct Target<'a> {
    pub(super) base: &'a str,
    pub(super) paths: &'a [String],
    pub(super) token: Option<&'a str>,
}

/// Runs wrk (one thread; its files in `dir`) against `t` for `seconds` at `conns`
/// connections, as fast as the server answers or, with `rate`, paced to that many requests
/// per second.
pub(super) fn run(
    dir: &Path,
    t: &Target,
    seconds: u64,
    conns: u32,
    rate: Option<f64>,
) -> anyhow::Result<Load> {
    let Target { base, paths, token } = *t;
    let list = dir.join("paths.txt");
    std::fs::write(&list, paths.join("\n") + "\n")?;
    let script = dir.join("paths.lua");
    std::fs::write(
        &script,
        format!(
            "local paths = {{}}\nfor line in io.lines(\"{}\") do paths[#paths + 1] = line end\n\
             math.randomseed(os.time())\nrequest = function()\n  return wrk.format(nil, paths[math.random(#paths)])\nend\n{}",
            list.display(),
            rate.map(pacing).unwrap_or_default()
        ),
    )?;
    let mut c = Command::new("wrk");
    c.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-s",
    ])
    .arg(&script);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = c.arg(base).output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        anyhow::bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let pct = |p: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .map_or(f64::NAN, ms)
    };
    let num = |prefix: &str, idx: usize| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(idx))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Ok(Load {
        p50: pct("50%"),
        p90: pct("90%"),
        p99: pct("99%"),
        rps: num("Requests/sec:", 1).unwrap_or(0.0),
        errors: num("Non-2xx", 4).unwrap_or(0.0) as u64,
        requests: text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}
