#!/usr/bin/env bash
# Make sure the real services the test suite talks to are up: PostgreSQL on 127.0.0.1:5432 and
# Redis on 127.0.0.1:6379. On this machine kind both are installed and normally running; when one
# is installed but down it is started with the machine's own command. Nothing is flushed.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() {
  for _ in $(seq 1 30); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_port 5432 || echo "PostgreSQL did not come up on 5432"
  else
    echo "PostgreSQL is not installed here: its tests will be skipped (or fail with CI=true)"
  fi
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    wait_port 6379 || echo "Redis did not come up on 6379"
  else
    echo "Redis is not installed here: its tests will be skipped (or fail with CI=true)"
  fi
fi
exit 0
