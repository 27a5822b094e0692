#!/usr/bin/env bash
# Checks the system packages pdbi needs besides Python: Java 17+ (Spark), for the browser
# tests Debian's chromium, for the JDBC path of the Spark job the PostgreSQL JDBC driver, and
# npm (the Data Docs' scripts and styles, installed from npm so the docs work offline).
# Installs them with apt-get when run as root and missing; otherwise says how to install them.
# Set PDBI_SKIP_CHROMIUM=1, PDBI_SKIP_JDBC=1 or PDBI_SKIP_NPM=1 to skip one.
set -euo pipefail

need_apt=()
java_major() { java -version 2>&1 | sed -nE 's/.*version "(1\.)?([0-9]+).*/\2/p' | head -1; }
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then
  need_apt+=(openjdk-17-jre-headless)
fi
if [ "${PDBI_SKIP_CHROMIUM:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then
  need_apt+=(chromium)
fi
if [ "${PDBI_SKIP_JDBC:-0}" != "1" ] && [ ! -f /usr/share/java/postgresql.jar ]; then
  need_apt+=(libpostgresql-jdbc-java)
fi
if [ "${PDBI_SKIP_NPM:-0}" != "1" ] && ! command -v npm >/dev/null 2>&1; then
  need_apt+=(npm)
fi
[ ${#need_apt[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need_apt[*]} with apt-get ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
else
  echo "pdbi needs: ${need_apt[*]}. Install them, e.g.: sudo apt-get install ${need_apt[*]}" >&2
  echo "(Java 17+ runs Spark; chromium runs the browser tests; the JDBC jar the Spark job's JDBC path; npm installs the Data Docs' offline assets.)" >&2
  exit 1
fi
