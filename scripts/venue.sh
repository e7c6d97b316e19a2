#!/usr/bin/env bash
# make venue: a venue on this machine — three hub nodes (admit hub), their
# buckets (admit hub init) and three appliances (admit serve: north, south,
# door), each with a simulated turnstile lane, on free ports of 127.0.0.1,
# and 50 tickets imported once, at north, for every appliance. It prints
# the URLs, the tokens and what to try (README.md, "A venue on one
# machine"); Ctrl-C stops everything. The files stay in the folder it
# prints (VENUE_DIR chooses it; ADMIT_BIN the binary, default bin/admit).
#
# north reaches the hub through hub3 only, the others through hub1 and
# hub2: freezing hub3 (kill -STOP) cuts north off alone, as a broken link
# would, while the hub keeps its majority.
set -euo pipefail

BIN=${ADMIT_BIN:-bin/admit}
[[ -x $BIN ]] || { echo "venue: no $BIN; run make build first (make venue does)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DIR=${VENUE_DIR:-$(mktemp -d -t admit-venue-XXXXXX)}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
for f in "$DIR"/*.toml; do
	[[ -e $f ]] && { echo "venue: $DIR holds a venue already; remove it or choose another VENUE_DIR" >&2; exit 1; }
done

pids=()
declare -a HUBPID
declare -A APID
stop() {
	trap - INT TERM EXIT
	if ((${#pids[@]})); then
		echo
		echo "venue: stopping ${#pids[@]} processes"
		kill -CONT "${pids[@]}" 2>/dev/null || true # a frozen node must hear TERM
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	echo "venue: stopped; its files are in $DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

# A port nothing listens on, not handed out before.
used=" "
port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[[ $used == *" $p "* ]] && continue
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			used+="$p "
			echo "$p"
			return
		fi
	done
}
secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

wait_http() { # url what
	for _ in $(seq 1 600); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "venue: $2 did not answer $1 within a minute; see $DIR/*.log" >&2
	exit 1
}

ADMIN=$(secret)
VIEWER=$(secret)
for u in admin north south door; do secret >"$DIR/$u.password"; done
chmod 600 "$DIR"/*.password

# The hub: three nodes.
declare -A CLIENT ROUTE METRICS
for n in 1 2 3; do CLIENT[$n]=$(port); ROUTE[$n]=$(port); METRICS[$n]=$(port); done
routes="\"nats-route://127.0.0.1:${ROUTE[1]}\", \"nats-route://127.0.0.1:${ROUTE[2]}\", \"nats-route://127.0.0.1:${ROUTE[3]}\""
for n in 1 2 3; do
	cat >"$DIR/hub$n.toml" <<EOF
[hub]
name = "hub$n"
data_dir = "$DIR/hub$n"
listen = "127.0.0.1:${CLIENT[$n]}"
metrics_listen = "127.0.0.1:${METRICS[$n]}"
bcrypt_cost = 4
[hub.cluster]
listen = "127.0.0.1:${ROUTE[$n]}"
routes = [$routes]
[hub.admin]
password_file = "admin.password"
[[hub.appliances]]
id = "north"
password_file = "north.password"
[[hub.appliances]]
id = "south"
password_file = "south.password"
[[hub.appliances]]
id = "door"
password_file = "door.password"
[log]
format = "json"
EOF
	"$BIN" hub -config "$DIR/hub$n.toml" >"$DIR/hub$n.log" 2>&1 &
	pids+=($!)
	HUBPID[$n]=$!
done
for n in 1 2 3; do wait_http "http://127.0.0.1:${METRICS[$n]}/healthz" "hub$n"; done
"$BIN" hub init -config "$DIR/hub1.toml" -url "nats://127.0.0.1:${CLIENT[1]}" >"$DIR/hub-init.log"

# The appliances.
opens=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
closes=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
declare -A HTTP URLS OFFLINE
URLS[north]="\"nats://127.0.0.1:${CLIENT[3]}\""
URLS[south]="\"nats://127.0.0.1:${CLIENT[1]}\", \"nats://127.0.0.1:${CLIENT[2]}\""
URLS[door]=${URLS[south]}
OFFLINE[north]=admit
OFFLINE[south]=deny
OFFLINE[door]=deny
for a in north south door; do
	HTTP[$a]=$(port)
	cat >"$DIR/$a.toml" <<EOF
data_dir = "$DIR/$a"
appliance = "$a"
[http]
listen = "127.0.0.1:${HTTP[$a]}"
[log]
format = "json"
[[tokens]]
name = "ops"
role = "admin"
secret = "$ADMIN"
[[tokens]]
name = "board"
role = "viewer"
secret = "$VIEWER"

[venue]
urls = [${URLS[$a]}]
password_file = "$a.password"

[[providers]]
id = "demo"
name = "Demo tickets"
[[events]]
id = "DEMO"
name = "The demo match"
opens_at = $opens
closes_at = $closes

[[lanes]]
id = "$a-1"
name = "${a^} 1"
offline = "${OFFLINE[$a]}"
[lanes.relay]
driver = "sim"
unlock_time = "2s"
walk_after = "1s"
EOF
	"$BIN" serve -config "$DIR/$a.toml" >"$DIR/$a.log" 2>&1 &
	pids+=($!)
	APID[$a]=$!
done
for a in north south door; do wait_http "http://127.0.0.1:${HTTP[$a]}/readyz" "$a"; done

# The tickets, once, at north: the hub takes the file and every appliance
# imports it. North publishes the provider and event of its configuration
# first.
auth="Authorization: Bearer $ADMIN"
for _ in $(seq 1 300); do
	curl -fsS -H "$auth" "http://127.0.0.1:${HTTP[north]}/v1/events" | grep -q '"id":"DEMO"' && break
	sleep 0.1
done
seq -f 'DEMO-%04g' 1 50 | curl -fsS -o /dev/null -H "$auth" --data-binary @- \
	"http://127.0.0.1:${HTTP[north]}/v1/imports?provider=demo&event=DEMO&format=lines"
for a in south door; do
	for _ in $(seq 1 300); do
		curl -fsS -o /dev/null -H "$auth" "http://127.0.0.1:${HTTP[$a]}/v1/tickets/DEMO-0050" 2>/dev/null && break
		sleep 0.1
	done
done

cat <<EOF

A venue on this machine (its files and logs: $DIR)

  hub1   nats://127.0.0.1:${CLIENT[1]}   metrics http://127.0.0.1:${METRICS[1]}/metrics   pid ${HUBPID[1]}
  hub2   nats://127.0.0.1:${CLIENT[2]}   metrics http://127.0.0.1:${METRICS[2]}/metrics   pid ${HUBPID[2]}
  hub3   nats://127.0.0.1:${CLIENT[3]}   metrics http://127.0.0.1:${METRICS[3]}/metrics   pid ${HUBPID[3]}

  north  http://127.0.0.1:${HTTP[north]}/   lane north-1 (offline = admit)  reaches the hub through hub3 only
  south  http://127.0.0.1:${HTTP[south]}/   lane south-1 (offline = deny)   through hub1 and hub2
  door   http://127.0.0.1:${HTTP[door]}/   lane door-1  (offline = deny)   through hub1 and hub2

  admin token   $ADMIN
  viewer token  $VIEWER
  tickets       DEMO-0001 to DEMO-0050, event DEMO (imported once, at north)

Try it in another terminal:

  export ADMIT_TOKEN=$ADMIN
  export NORTH=http://127.0.0.1:${HTTP[north]} SOUTH=http://127.0.0.1:${HTTP[south]} DOOR=http://127.0.0.1:${HTTP[door]}
  export HUB1=${HUBPID[1]} HUB2=${HUBPID[2]} HUB3=${HUBPID[3]}

and follow README.md, "A venue on one machine". Ctrl-C here stops everything.
EOF
wait -n "${pids[@]}" || true
echo "venue: a process stopped on its own; see the logs in $DIR" >&2
exit 1
