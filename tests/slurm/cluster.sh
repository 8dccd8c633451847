#!/usr/bin/env bash
# A throwaway two-node Slurm cluster on this host, for `make test-slurm` (docs/hpc.md).
#
#   tests/slurm/cluster.sh start   # munged + slurmctld + slurmd n1, n2 (needs root)
#   tests/slurm/cluster.sh stop    # stops each daemon by the PID it recorded
#
# Facts this relies on (Debian 12, Slurm 22.05): two slurmd on one host work when started
# as `slurmd -D -N n1` / `-N n2` with distinct ports and NodeAddr 127.0.0.1; no cgroups
# (proctrack/linuxproc, task/none); no accounting daemon, so Snakemake's status command
# is squeue and MinJobAge must outlast its first status check; GPUs are faked through
# gres.conf File= lines that point at empty files. The config must be
# /etc/slurm/slurm.conf: the executor plugin's job step drops SLURM_CONF. The node names
# n1 and n2 are added to /etc/hosts (127.0.0.1) while the cluster runs, for the multi-node
# training launch's rendezvous; stop removes that line, the config and the gres files.
set -euo pipefail

STATE=${S1KIT_SLURM_STATE:-/tmp/s1kit-slurm}
CONF=/etc/slurm/slurm.conf
GRES=/etc/slurm/gres.conf
MARK="# s1kit throwaway test cluster (tests/slurm/cluster.sh)"
CTLD_PORT=${S1KIT_SLURM_CTLD_PORT:-16817}
NODE_CPUS=${S1KIT_SLURM_NODE_CPUS:-2}
NODE_MEM_MB=${S1KIT_SLURM_NODE_MEM_MB:-8000}

die() { echo "cluster.sh: $*" >&2; exit 1; }

write_conf() {
    # Never overwrite a real cluster's configuration.
    for f in "$CONF" "$GRES"; do
        if [[ -e $f ]] && ! grep -qF "$MARK" "$f"; then
            die "$f exists and is not ours; refusing to replace it (is this a real Slurm host?)"
        fi
    done
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/gpus"
    for i in 0 1 2 3 4 5 6 7; do : > "$STATE/gpus/gpu$i"; done
    cat > "$CONF" <<CONF
$MARK
ClusterName=s1kitci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool-%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MpiDefault=none
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue this long: at least 3x Snakemake's first status
# check (slurm-init-seconds-before-status-checks, 2 s in tests/slurm/profile) and longer
# than the plugin's longest wait between checks (it backs off by 10 s up to 180 s).
MinJobAge=300
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=n1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17001 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB Gres=gpu:8 State=UNKNOWN
NodeName=n2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17002 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB Gres=gpu:8 State=UNKNOWN
PartitionName=ci Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
CONF
    cat > "$GRES" <<CONF
$MARK
NodeName=n1 Name=gpu File=$STATE/gpus/gpu[0-7]
NodeName=n2 Name=gpu File=$STATE/gpus/gpu[0-7]
CONF
}

hosts_add() {
    # Node names must resolve: the multi-node training launch finds its head node with
    # `scontrol show hostnames` (n1) and torchrun connects to it. Written in place, since
    # /etc/hosts may be a bind mount.
    if ! getent hosts n1 > /dev/null || ! getent hosts n2 > /dev/null; then
        echo "127.0.0.1 n1 n2 $MARK" >> /etc/hosts
    fi
}

hosts_remove() {
    if grep -qF "$MARK" /etc/hosts 2> /dev/null; then
        local kept
        kept=$(grep -vF "$MARK" /etc/hosts)
        printf '%s\n' "$kept" > /etc/hosts
    fi
}

start_bg() {  # name, command...: start a daemon in the foreground mode, record its PID
    local name=$1; shift
    "$@" > "$STATE/$name.out" 2>&1 &
    echo $! > "$STATE/$name.bgpid"
}

start() {
    [[ $(id -u) -eq 0 ]] || die "needs root (it writes /etc/slurm and starts daemons)"
    for b in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
        command -v "$b" > /dev/null || die "$b not found: apt-get install slurmctld slurmd slurm-client munge"
    done
    [[ -e $STATE/slurmctld.bgpid ]] && die "$STATE already holds a cluster; run '$0 stop' first"
    if [[ -e $CONF ]] && timeout 5 scontrol ping 2> /dev/null | grep -q UP; then
        die "a slurmctld already answers for $CONF; stop that cluster first"
    fi
    write_conf
    hosts_add
    # munged runs as the munge user; setpriv execs, so $! is munged's own PID.
    install -d -o munge -g munge -m 0755 /run/munge
    [[ -s /etc/munge/munge.key ]] || die "/etc/munge/munge.key missing (reinstall munge)"
    start_bg munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
    for _ in $(seq 50); do [[ -S /run/munge/munge.socket.2 ]] && break; sleep 0.1; done
    [[ -S /run/munge/munge.socket.2 ]] || { cat "$STATE/munged.out" >&2; die "munged did not start"; }
    start_bg slurmctld slurmctld -D -i
    start_bg slurmd-n1 slurmd -D -N n1
    start_bg slurmd-n2 slurmd -D -N n2
    # Both nodes idle = the cluster takes jobs.
    for _ in $(seq 100); do
        if [[ $(sinfo -h -N -t idle -o %N 2> /dev/null | sort -u | wc -l) -eq 2 ]]; then
            sinfo -N -o "%N %t %c %m %G"
            return 0
        fi
        sleep 0.2
    done
    sinfo -N >&2 || true
    tail -n 20 "$STATE"/*.log "$STATE"/*.out >&2 || true
    die "nodes n1 and n2 did not become idle in 20 s"
}

stop() {
    local pidf pid
    # Jobs first, so that no job step outlives its slurmd.
    if [[ -e $STATE/slurmctld.bgpid ]] && [[ -e $CONF ]] && grep -qF "$MARK" "$CONF"; then
        timeout 10 scancel --partition=ci 2> /dev/null || true
    fi
    # Daemons in reverse order of start; only the PIDs this script recorded.
    for name in slurmd-n2 slurmd-n1 slurmctld munged; do
        pidf=$STATE/$name.bgpid
        [[ -e $pidf ]] || continue
        pid=$(cat "$pidf")
        # Only a live process that is still that daemon (a stale PID may have been reused).
        if kill -0 "$pid" 2> /dev/null && tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline" | grep -q "${name%%-*}"; then
            kill "$pid" 2> /dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2> /dev/null && kill -9 "$pid" 2> /dev/null || true
        fi
        rm -f "$pidf"
    done
    for f in "$CONF" "$GRES"; do
        if [[ -e $f ]] && grep -qF "$MARK" "$f"; then rm -f "$f"; fi
    done
    hosts_remove
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 start|stop" ;;
esac
