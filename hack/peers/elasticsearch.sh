#!/usr/bin/env bash
# A real Elasticsearch 7.17 node on loopback for the search suites, assembled from Maven Central jars (no Elasticsearch
# distribution is obtainable here; the recipe is ../shared/peers/search-engine.md). Nothing lands in the repo: the node
# home is built once in a cache keyed by version, each started node gets its own throwaway folder.
#
#   elasticsearch.sh install        fetch the jars and assemble the node home (idempotent; quick when present)
#   elasticsearch.sh check          exit 0 when a suitable Java and the assembled home are present, else say why
#   elasticsearch.sh start DIR      start a node with its config/data/logs in DIR (created), on 127.0.0.1 with ports
#                                   the kernel picks; waits for health; prints the endpoint; DIR/pid holds its PID
#   elasticsearch.sh stop DIR       stop the node started in DIR by its PID and remove DIR
#
# Environment: STRATA_PEERS_CACHE (default ~/.cache/strata/peers), STRATA_ES_JAVA (a Java 11–23 binary; Java 24+
# cannot run it: no Security Manager), STRATA_ES_OWNER (a PID: the node is stopped when that process goes away),
# STRATA_ES_HEAP (default 512m).
set -euo pipefail

version=7.17.29
cache=${STRATA_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/peers}
home=$cache/elasticsearch-$version
modules=(transport-netty4:transport-netty4-client:org.elasticsearch.transport.Netty4Plugin
  reindex:reindex-client:org.elasticsearch.reindex.ReindexPlugin
  mapper-extras:mapper-extras-client:org.elasticsearch.index.mapper.MapperExtrasPlugin)

die() {
  echo "elasticsearch.sh: $*" >&2
  exit 1
}

# The first Java whose major version is 11..23: the node needs the Security Manager, gone from Java 24.
find_java() {
  local candidates=() c major
  [ -n "${STRATA_ES_JAVA:-}" ] && candidates+=("$STRATA_ES_JAVA")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null && candidates+=("$(command -v java)")
  for c in /usr/lib/jvm/*/bin/java; do [ -x "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    major=$("$c" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    major=${major#1.}
    if [ -n "$major" ] && [ "$major" -ge 11 ] && [ "$major" -le 23 ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

pom_head() {
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.strata.peers</groupId>
EOF
}

# One pom per folder of the node (lib/ and each module), copying an artifact and its runtime dependencies.
module_pom() {
  local artifact=$1 group=$2 out=$3
  pom_head
  cat <<EOF
  <artifactId>fetch-$artifact</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.6.1</version>
    <executions><execution>
      <phase>package</phase><goals><goal>copy-dependencies</goal></goals>
      <configuration><includeScope>runtime</includeScope><outputDirectory>$out</outputDirectory></configuration>
    </execution></executions>
  </plugin></plugins></build>
</project>
EOF
}

policy_for() {
  case $1 in
  transport-netty4)
    cat <<'EOF'
grant codeBase "${codebase.netty-common}" {
  permission java.io.FilePermission "/proc/sys/net/core/somaxconn", "read";
  permission java.net.SocketPermission "*", "accept,connect";
  permission java.lang.RuntimePermission "setContextClassLoader";
};
grant codeBase "${codebase.netty-transport}" {
  permission java.util.PropertyPermission "sun.nio.ch.bugLevel", "write";
};
EOF
    ;;
  reindex)
    cat <<'EOF'
grant {
  permission java.net.SocketPermission "*", "connect";
};
grant codeBase "${codebase.elasticsearch-rest-client}" {
  permission java.net.NetPermission "getProxySelector";
};
grant codeBase "${codebase.httpasyncclient}" {
  permission java.net.NetPermission "getProxySelector";
};
EOF
    ;;
  esac
}

install() {
  if [ -f "$home/.complete" ]; then
    echo "elasticsearch $version present in $home"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is not installed: cannot fetch Elasticsearch $version from Maven Central"
  local started entry dir artifact classname
  started=$(date +%s)
  echo "== assembling Elasticsearch $version from Maven Central into $home"
  mkdir -p "$cache"
  build=$(mktemp -d "$cache/.build-XXXXXX")
  trap 'rm -rf "$build"' EXIT
  # An aggregator with one child per folder: one Maven run fetches everything.
  {
    pom_head
    echo '  <artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging><modules>'
    echo '    <module>lib</module>'
    for entry in "${modules[@]}"; do echo "    <module>${entry%%:*}</module>"; done
    echo '  </modules>'
    echo '</project>'
  } >"$build/pom.xml"
  mkdir -p "$build/lib" "$build/home/lib"
  module_pom elasticsearch org.elasticsearch "$build/home/lib" >"$build/lib/pom.xml"
  for entry in "${modules[@]}"; do
    dir=${entry%%:*}
    artifact=${entry#*:}
    artifact=${artifact%%:*}
    mkdir -p "$build/$dir" "$build/home/modules/$dir"
    module_pom "$artifact" org.elasticsearch.plugin "$build/home/modules/$dir" >"$build/$dir/pom.xml"
  done
  mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$cache/maven-repository" -f "$build/pom.xml" package ||
    mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$cache/maven-repository" -f "$build/pom.xml" package ||
    die "fetching Elasticsearch $version with Maven failed (see above)"
  for entry in "${modules[@]}"; do
    dir=${entry%%:*}
    artifact=${entry#*:}
    artifact=${artifact%%:*}
    classname=${entry##*:}
    # A jar both in lib/ and in a module stops the node (jar hell): the module keeps only its own.
    for jar in "$build/home/modules/$dir"/*.jar; do
      [ -e "$build/home/lib/$(basename "$jar")" ] && rm "$jar"
    done
    cat >"$build/home/modules/$dir/plugin-descriptor.properties" <<EOF
description=$dir (assembled by Strata's hack/peers/elasticsearch.sh)
version=$version
name=$dir
classname=$classname
java.version=1.8
elasticsearch.version=$version
extended.plugins=
has.native.controller=false
EOF
    policy_for "$dir" >"$build/home/modules/$dir/plugin-security.policy"
    [ -s "$build/home/modules/$dir/plugin-security.policy" ] || rm "$build/home/modules/$dir/plugin-security.policy"
  done
  mkdir -p "$build/home/plugins" "$build/home/bin"
  touch "$build/home/.complete"
  rm -rf "$home"
  mv "$build/home" "$home"
  echo "elasticsearch $version assembled in $(($(date +%s) - started)) s ($(du -sh "$home" | cut -f1))"
}

check() {
  find_java >/dev/null || die "no Java 11–23 found (Elasticsearch $version needs the Security Manager; set STRATA_ES_JAVA)"
  [ -f "$home/.complete" ] || die "Elasticsearch $version is not assembled in $home (run: bash hack/peers/elasticsearch.sh install)"
}

start() {
  local dir=$1 java pid deadline port flags=()
  check
  java=$(find_java)
  mkdir -p "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  cat >"$dir/config/elasticsearch.yml" <<EOF
cluster.name: strata-test
node.name: strata-test
network.host: 127.0.0.1
http.port: 0
transport.port: 0
node.portsfile: true
discovery.type: single-node
path.data: $dir/data
path.logs: $dir/logs
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  cat >"$dir/config/log4j2.properties" <<'EOF'
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
EOF
  # As root (CI), the native library stays off: that is what skips Elasticsearch's refusal to run as root.
  [ "$(id -u)" = 0 ] && flags+=(-Djna.nosys=true -Djna.nounpack=true)
  ES_TMPDIR=$dir/tmp LIBFFI_TMPDIR=$dir/tmp setsid "$java" \
    "-Xms${STRATA_ES_HEAP:-512m}" "-Xmx${STRATA_ES_HEAP:-512m}" -XX:+UseG1GC -Djava.io.tmpdir="$dir/tmp" \
    -Djava.locale.providers=SPI,COMPAT -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
    -Dio.netty.recycler.maxCapacityPerThread=0 -Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false \
    "${flags[@]}" -Des.path.home="$home" -Des.path.conf="$dir/config" -Des.distribution.flavor=default \
    -Des.distribution.type=tar -Des.bundled_jdk=false -cp "$home/lib/*" org.elasticsearch.bootstrap.Elasticsearch \
    </dev/null >"$dir/logs/console.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
  if [ -n "${STRATA_ES_OWNER:-}" ]; then
    # Never outlive the test run that asked for the node, even when it is killed without a chance to stop it.
    (
      while kill -0 "$STRATA_ES_OWNER" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 2; done
      kill "$pid" 2>/dev/null || true
    ) </dev/null >/dev/null 2>&1 &
  fi
  deadline=$(($(date +%s) + ${STRATA_ES_START_TIMEOUT:-180}))
  while :; do
    kill -0 "$pid" 2>/dev/null || {
      tail -n 30 "$dir/logs/console.log" >&2
      die "the node exited before it was ready (log: $dir/logs/console.log)"
    }
    if [ -s "$dir/logs/http.ports" ]; then
      port=$(head -n 1 "$dir/logs/http.ports")
      port=${port##*:}
      if curl -fsS "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
        break
      fi
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      die "the node did not become healthy within ${STRATA_ES_START_TIMEOUT:-180} s (log: $dir/logs/console.log)"
    fi
    sleep 0.3
  done
  echo "http://127.0.0.1:$port" | tee "$dir/endpoint"
}

stop() {
  local dir=$1 pid i
  [ -f "$dir/pid" ] || die "no pid file in $dir"
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -rf "$dir"
}

case ${1:-} in
install) install ;;
check) check ;;
start) start "${2:?start needs a folder}" ;;
stop) stop "${2:?stop needs a folder}" ;;
*) die "usage: elasticsearch.sh install | check | start DIR | stop DIR" ;;
esac
