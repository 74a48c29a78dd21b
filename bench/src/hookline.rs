//! The `hookline` binary as a child process: `hookline token create`, `hookline serve`, its health
//! check, its stop (SIGTERM, then wait), and its memory and CPU figures from `/proc`.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long `hookline serve` may take to answer `/healthz`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to stop after SIGTERM (its shutdown grace is 10 s) before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A command for the binary with no inherited `HOOKLINE_*` settings, so only ours apply.
fn command(bin: &Path, dir: &Path) -> Command {
    let mut command = Command::new(bin);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HOOKLINE_") {
            command.env_remove(name);
        }
    }
    command.current_dir(dir).env("RUST_LOG", "warn");
    command
}

/// Runs `hookline token create --name bench --scope admin` (it creates webhooks and publishes
/// events) and returns the token it prints.
pub fn create_token(bin: &Path, dir: &Path, env: &[(&str, String)]) -> anyhow::Result<String> {
    let output = command(bin, dir)
        .args(["token", "create", "--name", "bench", "--scope", "admin"])
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {} token create", bin.display()))?;
    if !output.status.success() {
        bail!("`hookline token create` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    let token = String::from_utf8(output.stdout).context("the token is not UTF-8")?.trim().to_owned();
    if token.is_empty() {
        bail!("`hookline token create` printed no token");
    }
    Ok(token)
}

/// A running `hookline serve`. Dropping it kills the process if [`Server::stop`] was not called.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base_url: String,
    pub log_path: PathBuf,
}

impl Server {
    /// Spawns `hookline serve` on `addr` with `env`, its output going to `log_path`.
    pub fn spawn(
        bin: &Path,
        dir: &Path,
        addr: SocketAddr,
        env: &[(&str, String)],
        log_path: PathBuf,
    ) -> anyhow::Result<Server> {
        let log = File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let log_err = log.try_clone().context("cannot share the log file")?;
        let mut command = command(bin, dir);
        command.arg("serve").env("HOOKLINE_ADDR", addr.to_string());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .with_context(|| format!("cannot start {} serve", bin.display()))?;
        Ok(Server { pid: child.id(), child, base_url: format!("http://{addr}"), log_path })
    }

    /// Waits until `GET /healthz` answers 200.
    pub async fn wait_healthy(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = format!("{}/healthz", self.base_url);
        loop {
            if let Some(status) = self.child.try_wait().context("cannot check on hookline")? {
                bail!("hookline serve exited at start-up ({status}); its log:\n{}", self.log_tail(40));
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("hookline did not become healthy within {STARTUP_TIMEOUT:?}; its log:\n{}", self.log_tail(40));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit (kills it after [`STOP_TIMEOUT`]).
    pub async fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait().context("cannot check on hookline")? {
            return Ok(status);
        }
        // `kill` from the system: the workspace forbids the unsafe code libc::kill would need.
        let sent =
            Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().context("cannot run kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM {} failed: {sent}", self.pid);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("cannot wait for hookline")? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill().context("cannot kill hookline")?;
                let status = self.child.wait().context("cannot wait for hookline")?;
                bail!("hookline did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed ({status})");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last `lines` lines of the server's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The server's output lines that are warnings or errors.
    pub fn log_problems(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("panicked"))
            .map(strip_ansi)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Removes terminal colour codes from a log line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Memory figures from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kib: u64,
    /// VmHWM: the peak resident size.
    pub hwm_kib: u64,
    /// RssAnon: of VmRSS, the process's own memory (heap, stacks).
    pub anon_kib: u64,
    /// RssFile: of VmRSS, pages of mapped files (mostly the binary's own code, shared with the
    /// page cache and given back under memory pressure).
    pub file_kib: u64,
}

/// Reads VmRSS, VmHWM, RssAnon and RssFile of a process.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .with_context(|| format!("{path} has no {name}"))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        anon_kib: field("RssAnon:")?,
        file_kib: field("RssFile:")?,
    })
}

/// CPU time of a process (or of its threads), in seconds.
#[derive(Debug, Clone, Default)]
pub struct Cpu {
    pub user_s: f64,
    pub system_s: f64,
    /// Per thread name (digits and separators at the end dropped, so a pool is one line).
    pub threads: BTreeMap<String, f64>,
}

impl Cpu {
    pub fn total_s(&self) -> f64 {
        self.user_s + self.system_s
    }

    /// The CPU used between `earlier` and `self`.
    pub fn since(&self, earlier: &Cpu) -> Cpu {
        let threads = self
            .threads
            .iter()
            .map(|(name, seconds)| (name.clone(), seconds - earlier.threads.get(name).copied().unwrap_or(0.0)))
            .filter(|(_, seconds)| *seconds > 0.0)
            .collect();
        Cpu { user_s: self.user_s - earlier.user_s, system_s: self.system_s - earlier.system_s, threads }
    }
}

/// Clock ticks per second for `/proc/*/stat` (`getconf CLK_TCK`; 100 on Linux in practice).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// Reads utime and stime of `/proc/<proc_dir>` (a pid or `self`) and of each of its threads.
pub fn cpu(proc_dir: &str, ticks: f64) -> anyhow::Result<Cpu> {
    let path = format!("/proc/{proc_dir}/stat");
    let (_, user, system) = stat_times(&path, ticks)?;
    let mut threads = BTreeMap::new();
    let tasks = format!("/proc/{proc_dir}/task");
    if let Ok(entries) = std::fs::read_dir(&tasks) {
        for entry in entries.flatten() {
            // A thread may exit between the listing and the read: skip it.
            if let Ok((name, user, system)) = stat_times(&format!("{}/stat", entry.path().display()), ticks) {
                let group = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '#');
                let group = if group.is_empty() { name.as_str() } else { group };
                *threads.entry(group.to_owned()).or_insert(0.0) += user + system;
            }
        }
    }
    Ok(Cpu { user_s: user, system_s: system, threads })
}

/// The command name, utime and stime (seconds) of a `/proc/.../stat` file.
fn stat_times(path: &str, ticks: f64) -> anyhow::Result<(String, f64, f64)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    // The name is in parentheses and may hold spaces; the numbered fields follow the last `)`.
    let open = text.find('(').with_context(|| format!("{path}: no command name"))?;
    let close = text.rfind(')').with_context(|| format!("{path}: no command name"))?;
    let name = text.get(open + 1..close).unwrap_or_default().to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let number = |index: usize| {
        fields.get(index).and_then(|f| f.parse::<f64>().ok()).with_context(|| format!("{path}: field {}", index + 3))
    };
    Ok((name, number(11)? / ticks, number(12)? / ticks))
}

/// The CPU of a PostgreSQL server: its postmaster and every process it started (one backend per
/// connection, the WAL writer, the checkpointer, ...), as their (user, system) seconds.
pub fn postgres_cpu(postmaster: u32, ticks: f64) -> anyhow::Result<(f64, f64)> {
    let (mut user, mut system) = (0.0, 0.0);
    for entry in std::fs::read_dir("/proc").context("cannot list /proc")?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // After the command name (in parentheses): state, ppid, ...
        let Some(rest) = text.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let parent: u32 = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        if pid == postmaster || parent == postmaster {
            user += fields.get(11).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) / ticks;
            system += fields.get(12).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) / ticks;
        }
    }
    Ok((user, system))
}
