#!/usr/bin/env bash
# ZOO-Project (the C kernel, zoo_loader.cgi, embedded Python 3.11) + cwl-dask on one machine.
#
#   deploy/zoo/serve.sh start    # build (cached), venv (cached), lay out, start Apache
#   deploy/zoo/serve.sh stop     # stop that Apache (by its PID file)
#   deploy/zoo/serve.sh build    # only build the kernel and the venv
#
# Environment (all optional):
#   ZOO_PREFIX   where everything lives (default /tmp/cwl-dask-zoo): src/ inst/ venv/ run/
#   ZOO_PORT     Apache's port on 127.0.0.1 (default 8765)
#   ZOO_RUN      the served instance: cgi-bin/ (services, main.cfg), zTmp/, apache/
#                (default $ZOO_PREFIX/run; one per instance, the build and venv are shared)
#   ZOO_SHARED   folder with ZOO-Project-afc0403.tar.gz (default <repo>/../shared/zoo-project)
#   ZOO_TARBALL  the kernel's source tarball (default $ZOO_SHARED/ZOO-Project-afc0403.tar.gz)
#   ZOO_SERVICE_SRC  the cwl_dask the services import, first on PYTHONPATH (default <repo>/src)
#   ZOO_PIP_CONSTRAINTS  a pip constraints file for the venv (e.g. `pip freeze` of the env
#                the tests run in: the services get the same versions, and pip has nothing
#                to resolve; without it pip's resolver takes minutes over this closure)
#
# Root, Debian 12, the apt packages of .ci/run. Services are deployed into $ZOO_PREFIX/run/cgi-bin
# as ZOO-Project-DRU lays them out (python -m cwl_dask.zoo.deploy, see README "ZOO-Project").
# Why each step is as it is: ../shared/zoo-project/README.md (the recipe this follows).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PREFIX=${ZOO_PREFIX:-/tmp/cwl-dask-zoo}
PORT=${ZOO_PORT:-8765}
SHARED=${ZOO_SHARED:-$REPO/../shared/zoo-project}
TARBALL=${ZOO_TARBALL:-$SHARED/ZOO-Project-afc0403.tar.gz}
SRC=$PREFIX/src; INST=$PREFIX/inst; VENV=$PREFIX/venv; RUN=${ZOO_RUN:-$PREFIX/run}; CGI=$RUN/cgi-bin
BASE=http://127.0.0.1:$PORT
# Apache passes its own environment to every CGI, so it starts with `env -i` and this PATH:
# a conda or pyenv python3 first on PATH would become the services' sys.executable.
# The venv's bin comes first: `python3` there is Debian's 3.11 (the one the kernel embeds)
# with the venv's packages, so the Python that cwl-dask starts (workers, the staging tools)
# sees what the service sees.
CLEANPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SERVICEPATH=$VENV/bin:$CLEANPATH
PIDFILE=$RUN/apache/httpd.pid
SERVICE_SRC=${ZOO_SERVICE_SRC:-$REPO/src}

log() { echo "serve.sh: $*" >&2; }

# The two one-line patches (README of ../shared/zoo-project): Python 3.11's opaque
# PyFrameObject, and TRUE/FALSE that only a metadb/rabbitmq build defines.
patch_source() {
  local k=$SRC/zoo-project/zoo-kernel
  sed -i 's/PY_VERSION_HEX < 0x030C0000/PY_VERSION_HEX < 0x030B0000/' "$k/service_internal_python.c"
  sed -i 's|^#include "json_c_version.h"$|#include "json_c_version.h"\n#ifndef FALSE\n#define FALSE 0\n#endif\n#ifndef TRUE\n#define TRUE 1\n#endif|' \
    "$k/service_json.h"
}

build_kernel() {
  [ -r "$TARBALL" ] || { log "no kernel source at $TARBALL (set ZOO_SHARED or ZOO_TARBALL)"; exit 1; }
  # The stamp: the tarball's checksum and this function's text (the patches, the flags).
  local stamp; stamp="$(sha256sum "$TARBALL" | cut -d' ' -f1) $(declare -f patch_source build_kernel | sha256sum | cut -d' ' -f1)"
  if [ -x "$INST/cgi-bin/zoo_loader.cgi" ] && [ "$(cat "$INST/.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "kernel already built in $INST"; return
  fi
  log "building the kernel from $TARBALL into $INST"
  rm -rf "$SRC" "$INST"; mkdir -p "$SRC" "$INST/lib" "$INST/include" "$INST/cgi-bin"
  tar -xzf "$TARBALL" -C "$SRC"
  patch_source
  (
    export PATH=$CLEANPATH   # keep pyenv/conda pythons away from configure
    make -s -C "$SRC/thirds/cgic206" libcgic.a >/dev/null 2>&1 || make -C "$SRC/thirds/cgic206" libcgic.a
    cd "$SRC/zoo-project/zoo-kernel"
    autoreconf -i >/dev/null 2>&1
    ./configure -q --prefix="$INST" --with-cgi-dir="$INST/cgi-bin" \
      --with-python=/usr --with-pyvers=3.11 --with-json=/usr >/dev/null
    # configure overwrites LDFLAGS: an rpath lets the CGI find libzoo_service.so
    sed -i "s|^LDFLAGS=-rdynamic |LDFLAGS=-rdynamic -Wl,-rpath,$INST/lib |" ZOOMakefile.opts
    make -s -j"$(nproc)" >/dev/null 2>&1 || make -j1   # the second run shows the error
    make -s install >/dev/null
  )
  echo "$stamp" > "$INST/.stamp"
}

build_venv() {
  # The same /usr/bin/python3 the kernel embeds; the project's dependencies with its `s3`
  # extra and what the two real service templates import (the `zoo-templates` extra).
  local constraints=() stamp
  if [ -n "${ZOO_PIP_CONSTRAINTS:-}" ]; then constraints=(-c "$ZOO_PIP_CONSTRAINTS"); fi
  stamp=$(cat "$REPO/pyproject.toml" ${ZOO_PIP_CONSTRAINTS:+"$ZOO_PIP_CONSTRAINTS"} <(declare -f build_venv) \
    | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$stamp" ]; then log "venv up to date: $VENV"; return; fi
  log "making the services' venv $VENV"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "${constraints[@]}" "$REPO[s3,zoo-templates]" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -c "import cwl_dask.zoo, zoo_calrissian_runner, s3fs"  # or fail here
  # GeoLabs' template needs zoo-template-common <= 0.1.4 (its handler calls
  # super().__init__(conf, outputs)); EOEPCA's needs >= 0.1.5. The deploy helper puts this
  # folder first on the path of the services that ask for it (an upstream quirk).
  "$VENV/bin/pip" install -q --no-deps --target "$VENV/zoo-template-common-0.1.4" \
    "zoo-template-common==0.1.4"
  echo "$stamp" > "$VENV/.stamp"
}

site_packages() { echo "$VENV"/lib/python3.*/site-packages; }

layout() {
  mkdir -p "$CGI" "$RUN/www" "$RUN/zTmp/statusInfos" "$RUN/data" "$RUN/cache" "$RUN/home" \
    "$RUN/apache/logs" "$RUN/namespaces"
  # main.cfg/oas.cfg/.htaccess from upstream's docker/ folder, pointed at this prefix.
  # [env] PYTHONPATH: <repo>/src first (the code is always the checkout's), then the venv's
  # site-packages (PYTHONPATH entries are not site dirs: the project is not installed
  # editable there, and .pth files would be ignored).
  sed -e "s|http://localhost/cgi-bin/zoo_loader.cgi|$BASE/cgi-bin/zoo_loader.cgi|" \
      -e "s|^tmpPath=.*|tmpPath=$RUN/zTmp/|" -e "s|^tmpUrl = .*|tmpUrl = $BASE/temp/|" \
      -e "s|^dataPath = .*|dataPath = $RUN/data|" -e "s|^cacheDir = .*|cacheDir = $RUN/cache/|" \
      -e "s|^templatesPath = .*|templatesPath = $RUN/www/|" -e "s|^HOME=.*|HOME=$RUN/home|" \
      -e "s|^path=/opt/zooservices_namespaces|path=$RUN/namespaces|" -e "s|http://localhost|$BASE|g" \
      "$SRC/docker/main.cfg" > "$CGI/main.cfg.new"
  cp "$INST/cgi-bin/zoo_loader.cgi" "$CGI/"   # its rpath points at $INST/lib
  /usr/bin/python3 - "$CGI/main.cfg.new" "$SERVICE_SRC:$(site_packages)" <<'PY'
import re, sys
path, pythonpath = sys.argv[1], sys.argv[2]
text = open(path).read()
for section in ("rabbitmq", "database"):  # this build has neither AMQP nor a database
    text = re.sub(r"\n\[%s\]\n(?:[^\[\n][^\n]*\n|\n)*" % section, "\n", text)
text = re.sub(r"^(R_HOME|ITK_AUTOLOAD_PATH|MODULE_LIBRARY_PATH)=.*\n", "", text, flags=re.M)
text = re.sub(r"^(mapserverAddress|msOgcVersion|msConfig)\s*=.*\n", "", text, flags=re.M)
text = text.replace("[env]\n", "[env]\nPYTHONPATH=%s\n" % pythonpath, 1)
# [auth_env]: what DRU's security filter puts in conf (the templates read the user's name,
# and link logs under {tmpUrl}/<user>/temp/); here everyone is "anonymous".
open(path, "w").write(text.rstrip("\n") + "\n\n[additional_parameters]\n\n[auth_env]\nuser=anonymous\n")
PY
  # Keep a main.cfg the tests changed ([env], [additional_parameters]) unless asked not to.
  if [ ! -e "$CGI/main.cfg" ] || [ "${ZOO_RESET_CONFIG:-0}" = 1 ]; then
    mv "$CGI/main.cfg.new" "$CGI/main.cfg"
  else
    rm "$CGI/main.cfg.new"
  fi
  sed -e "s|http://localhost|$BASE|g" -e "s|ws://localhost:8888/|ws://127.0.0.1:8888/|" \
      -e "s|^publisherUrl=.*|publisherUrl=$BASE/cgi-bin/publish.py?jobid=|" \
      -e "s|^examplesPath=.*|examplesPath=$RUN/www/examples/|" \
      "$SRC/docker/oas.cfg" > "$CGI/oas.cfg"
  sed -e "s|http://localhost|$BASE|g" "$SRC/docker/.htaccess" > "$RUN/www/.htaccess"
  cat > "$RUN/apache/httpd.conf" <<CONF
ServerRoot "/etc/apache2"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $PIDFILE
Mutex posixsem
User www-data
Group www-data
ErrorLog $RUN/apache/logs/error.log
LogLevel warn
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule env_module /usr/lib/apache2/modules/mod_env.so
LoadModule setenvif_module /usr/lib/apache2/modules/mod_setenvif.so
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
LoadModule cgi_module /usr/lib/apache2/modules/mod_cgi.so
StartServers 2
MaxRequestWorkers 16
TypesConfig /etc/mime.types
LogFormat "%h %t \"%r\" %>s %b %D" zoo
CustomLog $RUN/apache/logs/access.log zoo
DocumentRoot "$RUN/www"
AllowEncodedSlashes On
# Trust the CGI's Content-Length: otherwise a sync reply stays open until every child
# that inherited the CGI's stdout has exited (as upstream's config does).
SetEnv ap_trust_cgilike_cl 1
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "$RUN/www">
  Options FollowSymLinks
  AllowOverride All
  Require all granted
</Directory>
ScriptAlias /cgi-bin/ "$CGI/"
<Directory "$CGI">
  Options +ExecCGI +FollowSymLinks
  AllowOverride None
  Require all granted
</Directory>
# tmpUrl: job results (302 from /results) and the runner's logs are served from tmpPath
Alias /temp/ "$RUN/zTmp/"
AliasMatch "^/[A-Za-z0-9_.@-]+/temp/(.*)$" "$RUN/zTmp/\$1"
<Directory "$RUN/zTmp">
  Require all granted
</Directory>
CONF
  chown -R www-data:www-data "$RUN/zTmp" "$RUN/data" "$RUN/cache" "$RUN/home" "$RUN/namespaces"
}

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  build_kernel
  build_venv
  layout
  if running; then log "already running (pid $(cat "$PIDFILE")) on $BASE"; return; fi
  apache2 -t -f "$RUN/apache/httpd.conf" 2>/dev/null
  env -i PATH="$SERVICEPATH" LANG=C.UTF-8 apache2 -f "$RUN/apache/httpd.conf" -k start
  for _ in $(seq 100); do
    if /usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "$BASE/ogc-api/" 2>/dev/null; then
      log "ZOO-Project on $BASE/ogc-api/ (pid $(cat "$PIDFILE")); services in $CGI"
      echo "$BASE"
      return
    fi
    sleep 0.1
  done
  log "Apache did not answer; see $RUN/apache/logs/error.log"; exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  build) build_kernel; build_venv ;;
  *) echo "usage: $0 [start|stop|build]" >&2; exit 2 ;;
esac
