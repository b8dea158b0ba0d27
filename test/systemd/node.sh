#!/usr/bin/env bash
# A machine with systemd as PID 1, for the tests of Docker's systemd cgroup
# driver on a host whose PID 1 is not systemd: systemd boots as PID 1 of its
# own PID, mount, cgroup, UTS and IPC namespaces (the host's network), on a
# root of its own, and a private dockerd runs in it with
# native.cgroupdriver=systemd (internal/testutil/privdockerd, as a systemd
# service). Commands run in it through `exec`.
#
#   node.sh up                 boot; prints the node's directory (NODE)
#   node.sh exec NODE [--wd DIR|--here] [--mkdir] [--env K=V]... -- CMD...
#                              run CMD in the node (in a systemd scope, with
#                              DOCKER_HOST set to the node's dockerd, TMPDIR
#                              /tmp); --wd runs it in DIR, --mkdir creates
#                              DIR first, --env sets more variables
#                              (--here: the current directory)
#   node.sh src NODE DIR       copy the checkout DIR into the node, at DIR
#   node.sh logs NODE DIR      copy the node's dockerd log and journal to DIR
#   node.sh down NODE          stop everything and remove NODE
#
# What the node sees: a tmpfs root with the host's /usr read-only, a copy
# of /etc, a /var of its own (NODE/var), fresh /tmp, /run, /proc, /sys and
# cgroup mounts (rooted at a cgroup of its own), the host's /dev (with its
# own /dev/shm), one exchange directory, NODE/x, at the same path as on
# the host (binaries, sockets and reports go through it), the machine-wide
# lock directory of the CNI test subnets, and, after `src`, a copy of the
# checkout. Nothing else of the host's file system is visible (checked
# before systemd starts): a systemd that saw the host's /tmp would empty it
# at boot (systemd-tmpfiles), and it must never meet the shared dockerd's
# state. The node's unit directory holds only targets, slices,
# dbus and journald, and its generators see an empty directory, so it
# starts nothing the host would feel (no docker.service, no timers, no
# tmpfiles, no fstab mounts). Isolation checked on this kind of machine:
# `systemd-tmpfiles --create --remove --boot` run inside a node leaves the
# host's /tmp as it was.
#
# Needs root, systemd, dbus and util-linux (unshare, nsenter, pivot_root).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")

die() { echo "node.sh: $*" >&2; exit 1; }

# The host's cgroup mounts under /sys/fs/cgroup: "mountpoint fstype options".
cgroup_mounts() {
	awk '{ split($0, a, " - "); split(a[2], b, " ") }
		(b[1] == "cgroup" || b[1] == "cgroup2") && $5 ~ "^/sys/fs/cgroup/" { print $5, b[1], b[3] }' /proc/self/mountinfo
}

# make_etc writes the node's /etc (a copy of the host's, with a unit set
# of its own) and NODE/units, what the node sees in /usr/lib/systemd/system:
# only targets, slices, dbus and journald exist, so nothing else can start
# (no docker.service, timers, tmpfiles, fstab mounts); generators see an
# empty directory.
make_etc() {
	local node=$1 etc=$1/etc u=/usr/lib/systemd/system
	cp -a /etc "$etc"
	: >"$etc/fstab"
	rm -rf "$etc/systemd/system" "$etc/systemd/system-generators"
	mkdir -p "$etc/systemd/system" "$etc/systemd/system.conf.d" "$etc/systemd/journald.conf.d" "$node/units" "$node/empty"
	cp -a "$u"/*.target "$u"/*.slice "$u"/dbus.service "$u"/dbus.socket \
		"$u"/systemd-journald.service "$u"/systemd-journald.socket "$u"/systemd-journald-dev-log.socket "$node/units/"
	ln -s /dev/null "$etc/systemd/system/systemd-journald-audit.socket"
	printf '%s\n' "[Unit]" "Description=dockerlet systemd test node" \
		"Wants=dbus.socket dbus.service systemd-journald.socket systemd-journald.service" "AllowIsolate=yes" \
		>"$etc/systemd/system/dlsd-node.target"
	ln -s dlsd-node.target "$etc/systemd/system/default.target"
	printf '%s\n' "[Manager]" "ShowStatus=no" "DefaultTimeoutStopSec=30s" >"$etc/systemd/system.conf.d/dlsd-node.conf"
	# The host's kernel log is not the node's.
	printf '%s\n' "[Journal]" "ReadKMsg=no" >"$etc/systemd/journald.conf.d/dlsd-node.conf"
}

up() {
	[[ $(id -u) == 0 ]] || die "needs root"
	local bin
	for bin in /lib/systemd/systemd unshare nsenter pivot_root dbus-daemon systemd-run systemctl; do
		[[ -x $bin ]] || command -v "$bin" >/dev/null || die "needs $bin (apt-get install systemd dbus util-linux)"
	done
	[[ -n $(cgroup_mounts) ]] || die "no cgroup file system under /sys/fs/cgroup"
	local node
	node=$(mktemp -d /tmp/dlsd-node.XXXXXX)
	chmod 755 "$node"
	mkdir -p "$node/root" "$node/x/bin" "$node/var/tmp" "$node/var/lib" "$node/var/log" "$node/var/cache"
	mkdir -p /run/dockerlet-test-subnets
	chmod 1777 "$node/var/tmp"
	make_etc "$node"
	# A cgroup of its own in every hierarchy: the node's cgroup namespace
	# is rooted there, and down removes it.
	local cg
	cg=dlsd-node-$(basename "$node" | cut -d. -f2)
	echo "$cg" >"$node/cgroup"
	local m t o
	while read -r m t o; do
		mkdir -p "$m/$cg"
		if [[ -f $m/cpuset.cpus ]]; then
			cat "$m/cpuset.cpus" >"$m/$cg/cpuset.cpus"
			cat "$m/cpuset.mems" >"$m/$cg/cpuset.mems"
		fi
	done < <(cgroup_mounts)
	(
		while read -r m t o; do echo "$BASHPID" >"$m/$cg/cgroup.procs"; done < <(cgroup_mounts)
		# --kill-child: the node dies with the unshare holding it.
		exec unshare --fork --pid --mount --cgroup --uts --ipc --propagation private --kill-child=SIGKILL \
			"$self" _boot "$node"
	) >"$node/boot.log" 2>&1 </dev/null &
	local holder=$!
	# The node's PID 1, as the host sees it: the only child of the holder
	# once the holder is unshare (before, the subshell's own helpers are).
	local pid=""
	local deadline=$((SECONDS + 120))
	while ((SECONDS < deadline)); do
		if [[ $(cat "/proc/$holder/comm" 2>/dev/null) == unshare ]]; then
			pid=$(cat "/proc/$holder/task/$holder/children" 2>/dev/null | awk '{print $1}') || true
			[[ -n $pid ]] && break
		fi
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.1
	done
	[[ -n $pid ]] || { cat "$node/boot.log" >&2; down "$node"; die "the node did not start"; }
	echo "$pid" >"$node/pid"
	local state=""
	# Half a second when the machine is idle; minutes at a load average
	# of 30 on two cores.
	local deadline=$((SECONDS + 300))
	while ((SECONDS < deadline)); do
		state=$(nsenter -t "$pid" -m -p -- systemctl is-system-running 2>/dev/null) || true
		[[ $state == running || $state == degraded ]] && break
		kill -0 "$pid" 2>/dev/null || { state="PID 1 exited"; break; }
		sleep 0.2
	done
	if [[ $state != running && $state != degraded ]]; then
		echo "node.sh: boot log of $node:" >&2
		tail -50 "$node/boot.log" >&2
		nsenter -t "$pid" -m -p -- systemctl is-system-running >&2 || true
		local p
		for p in $(cat "/sys/fs/cgroup/pids/$cg/cgroup.procs" 2>/dev/null) $(find "/sys/fs/cgroup/systemd/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do
			echo "node process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) [$(awk '/^State/ {print $2}' "/proc/$p/status" 2>/dev/null)]" >&2
		done
		down "$node"
		die "systemd did not finish booting (state: ${state:-none})"
	fi
	start_dockerd "$node" || { down "$node"; die "the node's dockerd did not start"; }
	echo "$node"
}

# start_dockerd runs the node's private dockerd (systemd cgroup driver) as
# the service dlsd-dockerd: KillMode=mixed lets its clean-up stop dockerd
# and remove what it made before systemd ends the rest.
start_dockerd() {
	local node=$1 pid
	pid=$(cat "$node/pid")
	# Built as `make build` builds dockerlet (no cgo, grpcnotrace): the
	# packages they share come from the build cache.
	(cd "$here/../.." && CGO_ENABLED=0 go build -tags grpcnotrace -o "$node/x/bin/dlsd-privd" ./test/engine/privd) || return 1
	nsenter -t "$pid" -m -p -- systemd-run --quiet --unit=dlsd-dockerd --collect \
		-p KillMode=mixed -p TimeoutStopSec=120 -p Delegate=yes -p LimitNOFILE=1048576 \
		"$node/x/bin/dlsd-privd" -cgroup-driver systemd -env "$node/x/dockerd.env" || return 1
	# privd gives up after 2 minutes and exits; the service with it.
	local deadline=$((SECONDS + 180))
	while ((SECONDS < deadline)); do
		[[ -f $node/x/dockerd.env ]] && return 0
		nsenter -t "$pid" -m -p -- systemctl is-active -q dlsd-dockerd.service || break
		sleep 0.2
	done
	nsenter -t "$pid" -m -p -- journalctl -u dlsd-dockerd --no-pager | tail -30 >&2
	return 1
}

# _boot runs as PID 1 of the new namespaces: it builds the node's root,
# pivots into it and becomes systemd.
_boot() {
	local node=$1 r=$1/root
	mount -t tmpfs -o mode=755 dlsd-root "$r"
	mkdir -p "$r"/{usr,etc,var,tmp,run,dev,proc,sys,root,home,srv,opt,mnt,media}
	chmod 700 "$r/root"
	chmod 1777 "$r/tmp"
	local l
	for l in bin sbin lib lib32 lib64 libx32; do
		if [[ -L /$l ]]; then
			ln -s "$(readlink "/$l")" "$r/$l"
		elif [[ -d /$l ]]; then
			mkdir -p "$r/$l"
			mount --bind "/$l" "$r/$l"
			mount -o remount,bind,ro "$r/$l"
		fi
	done
	mount --bind /usr "$r/usr"
	mount -o remount,bind,ro "$r/usr"
	mount --bind "$node/units" "$r/usr/lib/systemd/system"
	local d
	for d in /usr/lib/systemd/system-generators /usr/local/lib/systemd/system /usr/local/lib/systemd/system-generators; do
		[[ -d $d ]] && mount --bind "$node/empty" "$r$d"
	done
	mount --bind "$node/etc" "$r/etc"
	mount --bind "$node/var" "$r/var"
	mount -t tmpfs -o mode=1777 dlsd-tmp "$r/tmp"
	mount -t tmpfs -o mode=755 dlsd-run "$r/run"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=1777 dlsd-shm "$r/dev/shm"
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount -t tmpfs -o mode=755 dlsd-cgroup "$r/sys/fs/cgroup"
	local m t o
	while read -r m t o; do
		mkdir -p "$r$m"
		mount -t "$t" -o "$o" "$t" "$r$m"
	done < <(cgroup_mounts)
	mkdir -p "$r$node/x"
	mount --bind "$node/x" "$r$node/x"
	# Machine-wide reservations the tests take by lock file (CNI test
	# subnets): shared with the host's, or a test in the node could take
	# a subnet a test outside holds.
	for d in /run/dockerlet-test-subnets; do
		mkdir -p "$r$d"
		mount --bind "$d" "$r$d"
	done
	# The node's /etc and /var by device and inode (a bind shows the
	# same): isolated compares them after the pivot, whatever file system
	# the host's /tmp is.
	local etc_id var_id
	etc_id=$(stat -c %d:%i "$node/etc")
	var_id=$(stat -c %d:%i "$node/var")
	cd "$r"
	mkdir .oldroot
	pivot_root . .oldroot
	cd /
	umount -l /.oldroot
	rmdir /.oldroot
	# As on a systemd host: mounts propagate (Docker's rshared binds and
	# critest's propagation specs need it). All peers are inside the node:
	# the namespace was made private from the host's first.
	mount --make-rshared /
	isolated "$node" "$etc_id" "$var_id" || exit 1
	exec env -i container=dlsd-node PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/lib/systemd/systemd --system --unit=dlsd-node.target --log-target=console --log-level=notice
}

# isolated checks, in the node's mount namespace before systemd runs, that
# it sees nothing of the host's files but what _boot bound: /tmp and /run
# its own tmpfs, /etc and /var the node's directories (ETC_ID and VAR_ID:
# their device:inode), and no mount point outside the expected ones.
isolated() {
	local node=$1 etc_id=$2 var_id=$3 m root src bad="" id
	while read -r m root src; do
		case $m in
		/tmp | /run) [[ $src == dlsd-tmp || $src == dlsd-run ]] || bad+=" $m($src)" ;;
		/etc | /var)
			id=$etc_id
			[[ $m == /var ]] && id=$var_id
			[[ $(stat -c %d:%i "$m" 2>/dev/null) == "$id" ]] || bad+=" $m($root)"
			;;
		/ | /usr | /usr/* | /bin | /sbin | /lib | /lib32 | /lib64 | /libx32 | /dev | /dev/* | /proc | /proc/* | /sys | /sys/* | /run/dockerlet-test-subnets | "$node/x") ;;
		*) bad+=" $m" ;;
		esac
	done < <(awk '{ split($0, a, " - "); split(a[2], b, " "); print $5, $4, b[2] }' /proc/self/mountinfo)
	[[ -z $bad ]] && return 0
	echo "node.sh: the node would see the host's files at:$bad; not booting it" >&2
	return 1
}

# node_exec enters the node's namespaces and runs the command in a systemd
# scope (system.slice), as a unit on a systemd host would run.
node_exec() {
	local node=$1
	shift
	local wd=/ mkd="" extra=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--wd) wd=$2; shift 2 ;;
		--env) extra+=("$2"); shift 2 ;;
		--here) wd=$PWD; shift ;;
		--mkdir) mkd=1; shift ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	[[ $# -gt 0 ]] || die "exec: no command"
	local pid cg
	pid=$(cat "$node/pid") || die "no node at $node"
	cg=$(cat "$node/cgroup")
	kill -0 "$pid" 2>/dev/null || die "the node at $node is not running"
	# Into the node's cgroups first: a process outside the namespace's
	# root cannot be moved into a unit from inside.
	local m t o
	while read -r m t o; do echo "$BASHPID" >"$m/$cg/cgroup.procs"; done < <(cgroup_mounts)
	local envs=(PATH="$node/x/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" TMPDIR=/tmp HOME=/root "${extra[@]}")
	[[ -f $node/x/dockerd.env ]] && envs+=("DOCKER_HOST=$(sed -n 's/^DOCKER_HOST=//p' "$node/x/dockerd.env")")
	local pre=""
	[[ -n $mkd ]] && pre='mkdir -p "$DLSD_WD" && '
	# nsenter waits for the command but passes it no signal: they are
	# forwarded here, so that stopping this script stops the command.
	nsenter -t "$pid" -m -p -C -u -i -- env "${envs[@]}" DLSD_WD="$wd" \
		/bin/sh -c "$pre"'cd "$DLSD_WD" && exec systemd-run --quiet --scope --collect --slice=system.slice -- "$@"' sh "$@" <&0 &
	local ns=$! sig
	for sig in TERM INT HUP QUIT USR1 USR2; do
		# shellcheck disable=SC2064
		trap "forward $ns $sig" "$sig"
	done
	local status=0
	while :; do
		wait "$ns" && status=0 || status=$?
		kill -0 "$ns" 2>/dev/null || break
	done
	exit "$status"
}

forward() {
	local child
	child=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || true
	[[ -n $child ]] && kill -s "$2" $child 2>/dev/null || true
}

# logs copies the node's dockerd log and journal into DIR (on the host).
logs() {
	local node=$1 dir=$2 pid log
	pid=$(cat "$node/pid")
	mkdir -p "$dir"
	log=$(sed -n 's/^DOCKERLET_DOCKERD_LOG=//p' "$node/x/dockerd.env" 2>/dev/null) || true
	[[ -n $log ]] && nsenter -t "$pid" -m -- cat "$log" >"$dir/dockerd.log" 2>/dev/null
	nsenter -t "$pid" -m -p -- journalctl -b --no-pager -o short-precise >"$dir/journal.log" 2>/dev/null || true
}

# src copies the files of the git checkout DIR (tracked and untracked, not
# ignored) into NODE/x/src and mounts the copy at DIR in the node: tests
# find their package directory, and the paths compiled into them, where
# they were built, but the node never sees the checkout itself.
src() {
	local node=$1 dir=$2 pid
	pid=$(cat "$node/pid")
	mkdir -p "$node/x/src"
	git -C "$dir" ls-files -z -co --exclude-standard |
		tar -C "$dir" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$node/x/src" -xf -
	nsenter -t "$pid" -m -- /bin/sh -c 'mkdir -p "$1" && mount --bind "$2" "$1"' sh "$dir" "$node/x/src"
}

# node_pids lists the processes in the node's cgroup (every one of them
# was started by the node or entered it through exec).
node_pids() {
	local cg=$1 m t o
	while read -r m t o; do
		[[ -d $m/$cg ]] && find "$m/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
	done < <(cgroup_mounts) | sort -u
}

# in_node reports whether pid is in the node's cgroup (a recorded pid is
# checked before it is signalled: it may have been reused).
in_node() {
	grep -qE ":/$2(/|\$)" "/proc/$1/cgroup" 2>/dev/null
}

down() {
	local node=$1
	[[ $node == /tmp/dlsd-node.* && -d $node ]] || die "down: $node is not a node directory"
	local pid cg
	pid=$(cat "$node/pid" 2>/dev/null) || true
	cg=$(cat "$node/cgroup" 2>/dev/null) || true
	[[ $cg == dlsd-node-* ]] || die "down: $node has no cgroup name"
	if [[ -n $pid ]] && in_node "$pid" "$cg"; then
		# The private dockerd cleans up after itself (containers, mounts,
		# its bridge) when its service stops.
		nsenter -t "$pid" -m -p -- systemctl stop dlsd-dockerd.service 2>/dev/null || true
		# systemd as PID 1 ignores SIGTERM; SIGKILL ends the whole namespace.
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# What is left in the node's cgroup (the unshare holding it, commands
	# entering it, a node whose PID 1 was never found), then the cgroup.
	local try p m t o left
	for try in $(seq 50); do
		for p in $(node_pids "$cg"); do
			in_node "$p" "$cg" && kill -KILL "$p" 2>/dev/null
		done
		left=0
		while read -r m t o; do
			[[ -d $m/$cg ]] || continue
			find "$m/$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[[ -d $m/$cg ]] && left=1
		done < <(cgroup_mounts)
		((left)) || break
		sleep 0.2
	done
	((left == 0)) || die "down: processes remain in the node's cgroup $cg; $node left in place"
	# The bridge lives in the host's network namespace.
	local br
	br=$(sed -n 's/^DOCKERLET_DOCKERD_BRIDGE=//p' "$node/x/dockerd.env" 2>/dev/null) || true
	[[ -n $br ]] && ip link del "$br" 2>/dev/null || true
	# Everything the node mounted went with its mount namespace; a mount
	# still under NODE would mean otherwise, and nothing is removed then.
	if awk -v d="$node/" 'index($5, d) == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
		die "down: mounts remain under $node; left in place"
	fi
	rm -rf "$node"
}

cmd=${1:-}
shift || true
case $cmd in
up) up ;;
exec) node_exec "$@" ;;
src) src "$@" ;;
logs) logs "$@" ;;
down) down "$@" ;;
_boot) _boot "$@" ;;
*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
