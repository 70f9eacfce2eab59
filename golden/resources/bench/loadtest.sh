#!/usr/bin/env bash
# Load test: build the service and the load generator, start the service on
# free loopback ports pinned to its own CPUs, check the objectives in
# bench/slo.yaml over each transport, and stop the service on every exit path.
# `make loadtest` runs it; it prints one objectives table per transport and
# exits non-zero naming every missed objective.
#
# Settings (environment variables):
#   LOADTEST_DURATION    measured window per transport (default 30s)
#   LOADTEST_WARMUP      load before the window, excluded from results (default 5s)
#   LOADTEST_RATE        requests/s (default: rps in bench/slo.yaml)
#   LOADTEST_TRANSPORTS  space-separated transports to check (default "h2c grpc";
#                        http1 is also accepted)
#   LOADTEST_SERVER_CPUS, LOADTEST_CLIENT_CPUS
#                        taskset CPU lists (default: first and second half of the CPUs)
#   LOADTEST_ARGS        extra cmd/loadgen flags, e.g. "-mode closed"
#   GOTAGS               build tags of the service (default grpcnotrace, as
#                        `make build` uses)
#   LOADTEST_SLOW        test hook: build the service with -tags loadtest_slow so
#                        every request is delayed by this duration (e.g. 150ms);
#                        the check must then fail and name the missed objective
set -euo pipefail
cd "$(dirname "$0")/.."

go=${GO:-go}
duration=${LOADTEST_DURATION:-30s}
warmup=${LOADTEST_WARMUP:-5s}
rate=${LOADTEST_RATE:-0}
transports=${LOADTEST_TRANSPORTS:-h2c grpc}
slow=${LOADTEST_SLOW:-}
read -r -a extra <<<"${LOADTEST_ARGS:-}"

workdir=$(mktemp -d)
service_pid=
stop_service() {
	if [[ -n $service_pid ]] && kill -0 "$service_pid" 2>/dev/null; then
		kill -TERM "$service_pid"
		wait "$service_pid" || true
	fi
	service_pid=
	rm -rf "$workdir"
}
trap stop_service EXIT
trap 'exit 130' INT TERM

tags=${GOTAGS-grpcnotrace}
if [[ -n $slow ]]; then
	tags="${tags:+$tags,}loadtest_slow"
	echo "loadtest: test hook on: every request delayed by $slow; expect objectives to be missed"
fi
# Both binaries go to the temporary directory: the service is built as
# `make build` ships it (static, no paths, stripped), and a test-hook build
# never replaces the one in bin/.
CGO_ENABLED=0 "$go" build -trimpath -tags "$tags" -ldflags '-s -w' -o "$workdir/shop" ./cmd/shop
"$go" build -o "$workdir/loadgen" ./cmd/loadgen

# Pin the service and the load generator to different CPUs so they do not
# steal each other's time slices; without taskset or with one CPU they share.
server_cpus=${LOADTEST_SERVER_CPUS:-}
client_cpus=${LOADTEST_CLIENT_CPUS:-}
cpus=$(nproc)
if command -v taskset >/dev/null && ((cpus >= 2)); then
	half=$((cpus / 2))
	server_cpus=${server_cpus:-0-$((half - 1))}
	client_cpus=${client_cpus:-$half-$((cpus - 1))}
else
	echo "loadtest: taskset missing or one CPU: service and load generator share CPUs" >&2
fi
server=("$workdir/shop")
client=("$workdir/loadgen")
if [[ -n $server_cpus ]]; then
	server=(taskset -c "$server_cpus" "${server[@]}")
fi
if [[ -n $client_cpus ]]; then
	client=(taskset -c "$client_cpus" "${client[@]}")
fi

# Port 0 lets the kernel choose free ports; the service logs what it got.
log=$workdir/service.log
SHOP_HTTP_ADDR=127.0.0.1:0 \
	SHOP_GRPC_ADDR=127.0.0.1:0 \
	SHOP_ADMIN_ADDR=127.0.0.1:0 \
	SHOP_SHUTDOWN_DELAY=0s \
	SHOP_LOADTEST_DELAY=$slow \
	"${server[@]}" >"$log" 2>&1 &
# A simple command in the background: $! is the service itself (taskset
# execs it), so the EXIT trap stops the service, not a wrapper.
service_pid=$!

# listen_addr SERVER prints the address the service logged for SERVER.
listen_addr() {
	sed -n "s/.*\"msg\":\"listening\",\"server\":\"$1\",\"addr\":\"\([^\"]*\)\".*/\1/p" "$log" | head -n 1
}
# Wait until every server has logged its address and the service is ready
# (its migrations are in, its readiness check passes).
http_addr=""
grpc_addr=""
admin_addr=""
for _ in $(seq 100); do
	if ! kill -0 "$service_pid" 2>/dev/null; then
		echo "loadtest: the service exited during startup:" >&2
		cat "$log" >&2
		exit 1
	fi
	http_addr=$(listen_addr http)
	grpc_addr=$(listen_addr grpc)
	admin_addr=$(listen_addr admin)
	if [[ -n $http_addr && -n $grpc_addr && -n $admin_addr ]] && "$workdir/shop" healthcheck -ready -addr "$admin_addr" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
if [[ -z $http_addr || -z $grpc_addr || -z $admin_addr ]]; then
	echo "loadtest: the service did not report its addresses within 10s:" >&2
	cat "$log" >&2
	exit 1
fi
echo "loadtest: service pid $service_pid on ${server_cpus:-all CPUs}, http $http_addr, grpc $grpc_addr, admin $admin_addr; load generator on ${client_cpus:-all CPUs}"

failed=()
for transport in $transports; do
	case $transport in
	h2c | http1) addr=$http_addr ;;
	grpc) addr=$grpc_addr ;;
	*)
		echo "loadtest: unknown transport $transport; use h2c, http1 or grpc" >&2
		exit 2
		;;
	esac
	echo
	if ! "${client[@]}" \
		-transport "$transport" -addr "$addr" \
		-pid "$service_pid" -admin "http://$admin_addr/metrics" \
		-rate "$rate" -warmup "$warmup" -duration "$duration" \
		-slo bench/slo.yaml -scenario bench/scenario.yaml -out bench/results \
		"${extra[@]}"; then
		failed+=("$transport")
	fi
done

echo
if ((${#failed[@]} > 0)); then
	echo "loadtest: FAIL over ${failed[*]}; reports in bench/results/" >&2
	exit 1
fi
echo "loadtest: every objective met; reports in bench/results/"
