#!/usr/bin/env bash
# The peer runtime of the node conformance run: a private containerd with
# its CRI plugin (the machine's containerd, or CONTAINERD_BIN), its own
# config, root, state, socket, CNI bridge and subnet; it never touches
# dockerd's containerd.
#
#   containerd.sh start DIR PAUSE_IMAGE LOG    prints the CRI socket
#   containerd.sh stop DIR                     removes its pods, stops it and its shims
#
# CONTAINERD_ADDRESS: its socket (default DIR/containerd.sock). The
# kubelet's cAdvisor finds containerd's containers, and with them the pod
# labels of /metrics/cadvisor and the pods' network and process figures in
# /stats/summary, only at the standard /run/containerd/containerd.sock; a
# private socket elsewhere costs containerd those specs.
set -euo pipefail

bridge=dlnc0
cni_bin=${CONTAINERD_CNI_BIN:-/usr/lib/cni}

start() {
	local dir=$1 pause=$2 log=$3 bin subnet n address restrict=false
	bin=${CONTAINERD_BIN:-$(command -v containerd || true)}
	[[ -x $bin ]] || { echo "containerd.sh: no containerd (apt-get install containerd, or CONTAINERD_BIN)" >&2; exit 2; }
	[[ -x $cni_bin/bridge ]] || { echo "containerd.sh: no CNI plugins in $cni_bin" >&2; exit 2; }
	# A root without CAP_SYS_RESOURCE cannot lower oom_score_adj; the CRI
	# plugin's -998 for sandboxes would fail every RunPodSandbox.
	(echo -1 >/proc/self/oom_score_adj) 2>/dev/null || restrict=true
	for n in $(seq 100 120); do
		ip -4 route | grep -q "^10\.$n\." || { subnet=10.$n.0.0/16; break; }
	done
	[[ -n ${subnet:-} ]] || { echo "containerd.sh: no free 10.100-120.0.0/16" >&2; exit 2; }
	address=${CONTAINERD_ADDRESS:-$dir/containerd.sock}
	if [[ -e $address ]]; then
		echo "containerd.sh: $address exists: another containerd may be serving there" >&2
		exit 2
	fi
	mkdir -p "$dir"/{root,state,cni/net.d,cni/ipam,certs.d/localhost:5000} "$(dirname "$address")"
	echo "$address" >"$dir/address"
	cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
oom_score = 0

[grpc]
  address = "$address"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = $restrict
  # Pod network namespaces pinned below the state directory, where stop
  # finds them.
  netns_mounts_under_state_dir = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/state/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$dir/cni/net.d"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
	# No default route out and no masquerading: pod traffic stays here.
	# firewall: Docker sets the FORWARD policy to DROP and bridged traffic
	# passes iptables here (bridge-nf-call-iptables), so without the
	# plugin's accept rules one pod cannot reach another.
	cat >"$dir/cni/net.d/10-dlnc.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "dlnc", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$dir/cni/ipam", "ranges": [[{"subnet": "$subnet"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "firewall"}]}
EOF
	cat >"$dir/certs.d/localhost:5000/hosts.toml" <<EOF
server = "http://127.0.0.1:5000"

[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
EOF
	setsid "$bin" --config "$dir/config.toml" >"$log" 2>&1 </dev/null 9>&- &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 100); do
		if [[ -S $address ]] && grep -q "serving.*$address" "$log"; then
			echo "$address"
			return 0
		fi
		kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null || { tail -20 "$log" >&2; exit 2; }
		sleep 0.2
	done
	echo "containerd.sh: containerd did not start (see $log)" >&2
	exit 2
}

# PIDs of this instance's shims: their command line names its socket.
shims() { pgrep -f -- "-address $1 " || true; }

stop() {
	local dir=$1 pid s address
	[[ -f $dir/containerd.pid ]] || return 0
	pid=$(cat "$dir/containerd.pid")
	address=$(cat "$dir/address" 2>/dev/null || echo "$dir/containerd.sock")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# The containers the kubelet left run under this instance's shims
	# (each container's processes are its shim's children).
	for s in $(shims "$address"); do
		pkill -KILL -P "$s" 2>/dev/null || true
		kill -KILL "$s" 2>/dev/null || true
	done
	# Their root file systems and network namespaces.
	grep -o " $dir/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	ip link del "$bridge" 2>/dev/null || true
	rm -f "$dir/containerd.pid" "$address" "$address.ttrpc"
}

case ${1:-} in
start) start "$2" "$3" "$4" ;;
stop) stop "$2" ;;
*) echo "usage: $0 start DIR PAUSE_IMAGE LOG | stop DIR" >&2; exit 2 ;;
esac
