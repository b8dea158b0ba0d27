# Host state a node e2e run changes, saved before and put back after
# (sourced by run.sh; the kubelet lock is held throughout).
# shellcheck shell=bash

# The kubelet sets these at start; other suites on this machine expect the
# values they found.
host_tunables=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
	kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
# The suite's kubelet: its root, pod logs and the legacy links.
host_kubelet_root=/var/lib/kubelet

host_save() { # WORK
	local k
	: >"$1/sysctls"
	for k in "${host_tunables[@]}"; do
		[[ -r /proc/sys/$k ]] && printf '%s %s\n' "$k" "$(cat "/proc/sys/$k")" >>"$1/sysctls"
	done
	# What existed before the run stays; what the run made goes.
	: >"$1/made"
	for k in "$host_kubelet_root" /var/log/pods /var/log/containers /sys/fs/cgroup/*/kubepods; do
		[[ -e $k ]] || echo "$k" >>"$1/made"
	done
}

# host_kubelets WORK: PIDs of the kubelets run from this run's k8s-bin.
host_kubelets() { pgrep -f "^$1/k8s-bin/kubelet " || true; }

# The kubelet's API ports take connections from this machine only, for as
# long as the run lasts.
host_guard_rule=(INPUT -p tcp -m multiport --dports 10250,10255 ! -i lo -m comment --comment dlnc-nodeconf -j DROP)
host_guard_kubelet_ports() {
	iptables -C "${host_guard_rule[@]}" 2>/dev/null || iptables -I "${host_guard_rule[@]}"
}

host_restore() { # WORK
	local work=$1 pid k v d
	while iptables -D "${host_guard_rule[@]}" 2>/dev/null; do :; done
	for pid in $(host_kubelets "$work"); do
		kill -TERM "$pid" 2>/dev/null
	done
	sleep 1
	for pid in $(host_kubelets "$work"); do
		kill -KILL "$pid" 2>/dev/null
	done
	# Volumes (tmpfs, bind mounts) of pods the kubelet did not tear down.
	grep -oE " $host_kubelet_root(/[^ ]*)? " /proc/self/mountinfo | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null
	done
	# The kubelet's cgroups (empty once the containers are gone).
	for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
		[[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	while read -r k v; do
		[[ $(cat "/proc/sys/$k") == "$v" ]] || echo "$v" >"/proc/sys/$k"
	done <"$work/sysctls"
	while read -r d; do
		case $d in
		/sys/*) [[ -d $d ]] && rmdir "$d" 2>/dev/null ;;
		*) rm -rf --one-file-system "$d" ;;
		esac
	done <"$work/made"
	return 0
}

# host_sweep_dockerlet ROOT: containers the run's dockerlet made and the
# kubelet left (only its own: they carry its root directory).
host_sweep_dockerlet() {
	local ids
	ids=$(docker ps -aq --filter label=io.dockerlet.managed=true --filter "label=io.dockerlet.root-dir=$1")
	[[ -z $ids ]] || docker rm -f $ids >/dev/null
}
