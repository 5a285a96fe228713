#!/usr/bin/env bash
# A private single-node SLURM cluster (munge, slurmctld, slurmd) for tests/cluster.
#
#   .ci/slurm.sh start    install slurm-wlm and munge if missing, write the config, start the
#                         daemons and wait until the node is idle
#   .ci/slurm.sh stop     stop the daemons this script started (by the pids they recorded)
#   .ci/slurm.sh status   show the node, or fail if no controller answers
#
# Everything lives in $SNAKEML_SLURM_DIR (config, munge key and socket, spool, logs, pid files).
# SLURM's commands read /etc/slurm/slurm.conf: while the cluster runs, that is a symlink to this
# cluster's config (SLURM_CONF would not do: the executor plugin clears SLURM_* variables before
# its job steps call srun). An existing slurm.conf of the system is never replaced, and stop
# removes the symlink, so afterwards SLURM's commands fail at once instead of waiting for a
# controller that is gone. Needs root (apt-get, /etc, the daemons run as root). No systemd here:
# the daemons are started directly and stopped by the pids they record.
set -euo pipefail

STATE_DIR="${SNAKEML_SLURM_DIR:-${TMPDIR:-/tmp}/snakeml-slurm}"
CONF="$STATE_DIR/slurm.conf"
SYSTEM_CONF=/etc/slurm/slurm.conf
CONF_MARKER="# Written by .ci/slurm.sh"
MUNGE_DIR="$STATE_DIR/munge"
PID_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/log"
# Jobs stay visible to squeue this long after they end. The executor plugin polls with squeue
# only when MinJobAge >= 3 x slurm-init-seconds-before-status-checks (40 s by default), and
# otherwise falls back to sacct, which fails without an accounting database.
MIN_JOB_AGE=600
READY_TIMEOUT=60

log() { printf 'slurm.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

install_packages() {
    local missing=()
    for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return
    fi
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    [ "$(id -u)" -eq 0 ] || die "installing SLURM needs root: run as root or install slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
    local host node_line
    host="$(hostname -s)"
    # slurmd -C reports this machine's CPUs, sockets, cores and memory as SLURM sees them.
    node_line="$(slurmd -C | head -n 1)"
    [[ "$node_line" == "NodeName=$host "* ]] || die "unexpected 'slurmd -C' output: $node_line"
    cat >"$CONF" <<EOF
$CONF_MARKER: a single-node cluster on this host, reached on loopback only.
ClusterName=snakeml
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_DIR/munge.socket
StateSaveLocation=$STATE_DIR/spool/ctld
SlurmdSpoolDir=$STATE_DIR/spool/d
SlurmctldPidFile=$PID_DIR/slurmctld.pid
SlurmdPidFile=$PID_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# No cgroups in these containers: track processes through /proc, bind tasks with affinity.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Start a submitted batch job at once instead of batching submissions for up to 3 s.
SchedulerParameters=batch_sched_delay=0
# A request no node can satisfy (CPUs, memory, time) is refused by sbatch at once, never pending.
EnforcePartLimits=ALL
MinJobAge=$MIN_JOB_AGE
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# The scheduler's own record of every finished job: id, name, state, exit code.
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=snakeml Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# /etc/slurm/slurm.conf may be replaced only if it is a symlink left by this script whose
# controller is gone; a real file, or a link to a cluster still running, is refused.
check_system_config() {
    if [ ! -e "$SYSTEM_CONF" ] && [ ! -L "$SYSTEM_CONF" ]; then
        return 0
    fi
    if [ ! -L "$SYSTEM_CONF" ] || { [ -e "$SYSTEM_CONF" ] && ! head -n 1 "$SYSTEM_CONF" | grep -q "^$CONF_MARKER"; }; then
        die "$SYSTEM_CONF is the system's own: refusing to replace it"
    fi
    local other
    other="$(dirname "$(readlink "$SYSTEM_CONF")")"
    if pid_alive "$other/run/slurmctld.pid"; then
        die "$SYSTEM_CONF belongs to a cluster still running: SNAKEML_SLURM_DIR=$other $0 stop"
    fi
}

link_system_config() {
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -sfn "$CONF" "$SYSTEM_CONF"
}

# A process counts as alive unless it is gone or a zombie: daemons that exit are reparented to
# pid 1, which may reap them late, and kill -0 succeeds on a zombie.
alive() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]
}
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }

# The daemons fork and then record their pid: wait for it, so that stop can always find them.
wait_for_pid() {
    for _ in $(seq 1 100); do
        pid_alive "$1" && return 0
        sleep 0.1
    done
    die "no live pid in $1 after 10 s; see $LOG_DIR"
}

wait_until_idle() {
    local host deadline state=""
    host="$(hostname -s)"
    deadline=$((SECONDS + READY_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        state="$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null || true)"
        if [ "$state" = "idle" ]; then
            return 0
        fi
        sleep 0.5
    done
    die "node $host is '${state:-unreachable}' after ${READY_TIMEOUT}s; see $LOG_DIR/slurmd.log and slurmctld.log"
}

stop_after_failed_start() {
    local code=$?
    if [ "$code" -ne 0 ]; then
        log "start failed: stopping what it started"
        stop
    fi
}

now() { printf '%s' "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

start() {
    local begin started
    begin="$(now)"
    install_packages
    if pid_alive "$PID_DIR/slurmctld.pid"; then
        die "already running (pid $(cat "$PID_DIR/slurmctld.pid")); run '$0 stop' first"
    fi
    check_system_config
    # From here on, a failure or a timeout stops whatever this start had launched.
    trap stop_after_failed_start EXIT
    trap 'exit 143' TERM INT
    rm -rf "$STATE_DIR"
    mkdir -p "$MUNGE_DIR" "$PID_DIR" "$LOG_DIR" "$STATE_DIR/spool/ctld" "$STATE_DIR/spool/d"
    # The key stays private (0600); the socket must be reachable by every user who submits.
    chmod 0755 "$STATE_DIR" "$MUNGE_DIR"
    started="$(now)"

    mungekey --create --keyfile="$MUNGE_DIR/munge.key"
    munged --force --socket="$MUNGE_DIR/munge.socket" --key-file="$MUNGE_DIR/munge.key" \
        --pid-file="$PID_DIR/munged.pid" --log-file="$LOG_DIR/munged.log" \
        --seed-file="$MUNGE_DIR/munged.seed"
    wait_for_pid "$PID_DIR/munged.pid"

    write_config
    link_system_config
    slurmctld -f "$CONF"
    wait_for_pid "$PID_DIR/slurmctld.pid"
    slurmd -f "$CONF"
    wait_for_pid "$PID_DIR/slurmd.pid"
    wait_until_idle
    trap - EXIT TERM INT
    log "node $(hostname -s) idle: daemons up in $(seconds_since "$started") s," \
        "$(seconds_since "$begin") s with the install check"
}

stop_pid_file() {
    local pid_file="$1" pid
    [ -f "$pid_file" ] || return 0
    pid="$(cat "$pid_file")"
    if alive "$pid"; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "pid $pid ($pid_file) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pid_file"
}

stop() {
    # Reverse order of start: the node, the controller, then munge, which both need to shut down.
    stop_pid_file "$PID_DIR/slurmd.pid"
    stop_pid_file "$PID_DIR/slurmctld.pid"
    stop_pid_file "$PID_DIR/munged.pid"
    if [ "$(readlink "$SYSTEM_CONF" 2>/dev/null)" = "$CONF" ]; then
        rm -f "$SYSTEM_CONF"
    fi
    log "stopped"
}

status() {
    sinfo --Node --long
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|stop|status" ;;
esac
