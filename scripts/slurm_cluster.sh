#!/usr/bin/env bash
# Start, stop or inspect a real one-node SLURM cluster whose state lives in one folder.
#
#   scripts/slurm_cluster.sh start  DIR   # prints `export SLURM_CONF=DIR/slurm.conf` on stdout
#   scripts/slurm_cluster.sh status DIR   # sinfo/squeue of that cluster; exit 1 if it is down
#   scripts/slurm_cluster.sh stop   DIR   # cancels its jobs, stops slurmd + slurmctld
#
# Typical use:   eval "$(scripts/slurm_cluster.sh start /tmp/slurm)"   # then sbatch/squeue/submitit
#
# Needs root and the Debian packages slurm-wlm and munge; `start` installs them with apt-get when
# they are missing and it runs as root (else it names the apt-get line).
# Everything the cluster writes (slurm.conf, state, spool, pid and log files) goes into DIR; only
# munged (one per machine, key in /etc/munge) is shared and is left running by `stop`. Each
# cluster gets its own free pair of ports, so several can run side by side (e.g. one for CI and
# one started by a test). `start` and `stop` are idempotent. Messages go to stderr; only the
# export line goes to stdout. Environment knobs: SLURM_CLUSTER_TIMEOUT_S (wait for the node to be
# idle, default 60), SLURM_CLUSTER_PORT (first slurmctld port to try, default 6817).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|status DIR  (DIR: a folder for this cluster's config, state and logs)" >&2
    exit 2
}

say() { echo "slurm_cluster: $*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

[ $# -eq 2 ] || usage
action=$1
case "$action" in start | stop | status) ;; *) usage ;; esac
dir=$(mkdir -p "$2" && cd "$2" && pwd) || die "cannot create the state folder '$2'"
conf=$dir/slurm.conf
timeout_s=${SLURM_CLUSTER_TIMEOUT_S:-60}

TOOLS=(slurmctld slurmd sinfo squeue scancel scontrol sbatch munged munge unmunge)

find_missing() { # MISSING = the SLURM/munge commands that are not on PATH
    MISSING=()
    for tool in "${TOOLS[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || MISSING+=("$tool")
    done
}

require_tools() {
    find_missing
    if [ ${#MISSING[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "not installed: ${MISSING[*]}; installing slurm-wlm and munge with apt-get"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            slurm-wlm munge; } >&2 || die "apt-get could not install slurm-wlm and munge"
        find_missing
    fi
    if [ ${#MISSING[@]} -gt 0 ]; then
        die "not installed: ${MISSING[*]}. Install SLURM and munge first (as root):
    apt-get update && apt-get install -y slurm-wlm munge"
    fi
    [ "$(id -u)" -eq 0 ] || die "this one-node cluster runs its daemons as root (SlurmUser=root); run as root"
}

# PATH may lack /usr/sbin for non-login shells.
export PATH=$PATH:/usr/sbin:/sbin

pid_alive() { # pid_alive FILE -> 0 if the pid in FILE runs
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    say "starting munged"
    mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chmod 400 /etc/munge/munge.key
    chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
    munged --force || die "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "munge does not work: 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
}

write_conf() {
    local host cpus mem_mb port
    host=$(hostname -s)
    cpus=$(nproc)
    # RealMemory must not exceed what slurmd measures, or the node is drained: take 90 %.
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
    port=${SLURM_CLUSTER_PORT:-6817}
    while port_in_use "$port" || port_in_use $((port + 1)); do
        port=$((port + 2))
        [ "$port" -lt 7817 ] || die "no free port pair found in 6817..7817"
    done
    mkdir -p "$dir/state" "$dir/spool"
    cat >"$conf.tmp" <<EOF
# One-node test cluster written by scripts/slurm_cluster.sh; everything lives in $dir.
ClusterName=local
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$conf.tmp" "$conf"
    say "wrote $conf (node $host: $cpus CPUs, RealMemory=$mem_mb MB, ports $port/$((port + 1)))"
}

node_state() { SLURM_CONF=$conf sinfo -h -N -o '%T' 2>/dev/null | head -n1; }

show_logs() {
    for log in "$dir/slurmctld.log" "$dir/slurmd.log"; do
        [ -f "$log" ] && { say "--- last lines of $log"; tail -n 15 "$log" >&2; }
    done
}

start() {
    require_tools
    start_munge
    local ctld_up=0 d_up=0
    pid_alive "$dir/slurmctld.pid" && ctld_up=1
    pid_alive "$dir/slurmd.pid" && d_up=1
    if [ $ctld_up -eq 0 ] && [ $d_up -eq 0 ]; then
        write_conf
    elif [ ! -f "$conf" ]; then
        die "daemons run from $dir but $conf is missing; run '$0 stop $dir' first"
    else
        say "already running in $dir (slurmctld: $ctld_up, slurmd: $d_up)"
    fi
    [ $ctld_up -eq 1 ] || SLURM_CONF=$conf slurmctld -f "$conf" ||
        { show_logs; die "slurmctld did not start"; }
    [ $d_up -eq 1 ] || SLURM_CONF=$conf slurmd -f "$conf" ||
        { show_logs; die "slurmd did not start"; }
    local state="" waited=0
    while [ "$waited" -lt $((timeout_s * 10)) ]; do
        state=$(node_state)
        case "$state" in idle* | mixed* | allocated*) break ;; esac
        sleep 0.1
        waited=$((waited + 1))
    done
    case "$state" in
    idle* | mixed* | allocated*) ;;
    *)
        show_logs
        die "the node is '${state:-not reported}' after ${timeout_s}s, not idle (logs above)"
        ;;
    esac
    say "cluster up in $dir: node $state"
    echo "export SLURM_CONF=$conf"
}

stop_daemon() { # stop_daemon NAME PIDFILE
    local pid
    pid_alive "$2" || { rm -f "$2"; return 0; }
    pid=$(cat "$2")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$2"; say "stopped $1 ($pid)"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$2"
    say "killed $1 ($pid) after 10 s"
}

stop() {
    if [ -f "$conf" ] && pid_alive "$dir/slurmctld.pid"; then
        # Cancel this cluster's jobs so no job step outlives the daemons.
        if [ -n "$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null)" ]; then
            SLURM_CONF=$conf scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
            for _ in $(seq 100); do
                [ -z "$(SLURM_CONF=$conf squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
                sleep 0.1
            done
        fi
    fi
    stop_daemon slurmd "$dir/slurmd.pid"
    stop_daemon slurmctld "$dir/slurmctld.pid"
    say "cluster in $dir is down (munged is shared and left running)"
}

status() {
    pid_alive "$dir/slurmctld.pid" || { say "slurmctld is not running in $dir"; exit 1; }
    SLURM_CONF=$conf sinfo >&2
    SLURM_CONF=$conf squeue >&2
    echo "export SLURM_CONF=$conf"
}

"$action"
