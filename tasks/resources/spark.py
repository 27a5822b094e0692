"""Spark: the only module that starts a SparkSession.

Spark is configured from Settings alone (master, memory, shuffle partitions, scratch space, the
JDBC driver jar, PDBI_SPARK_CONF), so local, Docker and Kubernetes runs differ in settings,
never in code. The driver JVM's own output (Spark's and Java's warnings) goes to spark.log in
the data folder, not to the user's terminal. A session pdbi starts is always stopped on exit (a
leaked driver JVM holds ~1.4 GB and the scratch folder's files); one it found running is left
running. The JDBC URL of the warehouse is derived here from the database URL.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from subprocess import STDOUT
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pyspark import SparkConf, SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.java_gateway import launch_gateway
from pyspark.sql import DataFrame, SparkSession

from tasks.errors import ConfigError
from tasks.resources.lake import Lake
from tasks.resources.postgres import mask_url, read_sql
from tasks.resources.spark_work import as_url
from tasks.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MIN_JAVA = 17
# The JVMs' options (session_conf). The parallel collector: a batch job that owns its cores
# wants throughput, not G1's short pauses. Shallower inlining (9 levels, as up to JDK 13; 17
# allows 15) of smaller callees (1,000 bytes; 17's 2,500): a flow run's JVM is cold, and its
# C2 compiler spent 28 to 33 of the job's 110 CPU seconds on one million events, against 21 to
# 24 s with these, for the same work on the executors; six pairs of cold runs, 2.7 to 6.1 s
# less each (BENCHMARKS.md).
JVM_OPTIONS = "-XX:+UseParallelGC -XX:MaxInlineLevel=9 -XX:InlineSmallCode=1000"
LOCAL_MASTERS = ("local",)  # local, local[2], local[*]: executors in the driver's own JVM
_INSTALL_HINT = (
    "install it, e.g. `apt-get install openjdk-17-jre-headless`, "
    "or point PDBI_JAVA_HOME at a JDK 17+."
)
# `java -version` prints `openjdk version "17.0.15" 2025-04-15` (or `java version "1.8.0_292"`);
# `java --version` prints `openjdk 17.0.15 2025-04-15`; a bare version string is accepted too.
_QUOTED_VERSION = re.compile(r'version\s+"(\d+)(?:\.(\d+))?[^"]*"')
_BARE_VERSION = re.compile(r"(?:^|\s)(\d+)(?:\.(\d+))?(?:[._+\-][0-9A-Za-z._+\-]*)?(?=\s|$)")


def parse_java_major(version_output: str) -> int | None:
    """The major Java version in `java -version` output; None when there is none to read.

    Java 8 and older report "1.<major>", Java 9+ report "<major>[.<minor>...]".
    """
    match = _QUOTED_VERSION.search(version_output) or _BARE_VERSION.search(version_output)
    if match is None:
        return None
    first, second = int(match.group(1)), match.group(2)
    if first == 1 and second is not None:
        return int(second)
    return first


def _java_executable(settings: Settings) -> str | None:
    if settings.java_home is not None:
        candidate = Path(settings.java_home) / "bin" / "java"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def check_java(settings: Settings | None = None) -> int:
    """Fail fast, with the fix, before Spark's launcher fails with a cryptic gateway error."""
    settings = settings or get_settings()
    where = (
        f"PDBI_JAVA_HOME={settings.java_home}"
        if settings.java_home is not None
        else "PDBI_JAVA_HOME / JAVA_HOME unset, nothing on PATH"
    )
    java = _java_executable(settings)
    if java is None:
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but none was found ({where}); {_INSTALL_HINT}"
        )
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but {java} could not be run ({exc}); "
            f"{_INSTALL_HINT}"
        ) from None
    major = parse_java_major(result.stderr + "\n" + result.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major is not None else "an unreadable version"
        raise ConfigError(
            f"Spark needs Java {MIN_JAVA} or newer but {java} is {found} "
            f"(set by PDBI_JAVA_HOME / JAVA_HOME, else PATH); {_INSTALL_HINT}"
        )
    return major


@contextmanager
def _java_home_for_launch(java_home: Path | None) -> Iterator[None]:
    """Expose settings.java_home as JAVA_HOME while the driver JVM starts.

    pyspark's launcher (java_gateway.launch_gateway) copies os.environ for the spark-submit
    child and overwrites any `env` passed through popen_kwargs, so a passed env is not
    possible; the variable is set only for the launch and restored right after.
    """
    if java_home is None:
        yield
        return
    previous = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = str(java_home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = previous


def check_jdbc_jar(settings: Settings) -> Path | None:
    """The configured JDBC driver jar, checked before the JVM starts without it."""
    jar = settings.jdbc_jar
    if jar is not None and not Path(jar).is_file():
        raise ConfigError(
            f"PDBI_JDBC_JAR={jar} is not a file; point it at a PostgreSQL JDBC driver jar "
            "(Debian: `apt-get install libpostgresql-jdbc-java`, /usr/share/java/postgresql.jar) "
            "or unset it to hand the warehouse to Spark as Parquet."
        )
    return Path(jar).resolve() if jar is not None else None


def _check_jar_reachable(jar: Path) -> None:
    """The driver jar is put on the class path when the JVM starts; pyspark keeps one JVM per
    process across sessions, so a jar configured after the first session cannot be loaded."""
    if SparkContext._gateway is None:
        return  # the JVM starts with this session, and with the jar
    jvm = SparkContext._gateway.jvm
    class_path = str(jvm.java.lang.System.getProperty("java.class.path")).split(os.pathsep)
    if str(jar) not in class_path:
        raise ConfigError(
            f"PDBI_JDBC_JAR={jar} was set after Spark's JVM started in this process without it; "
            "the driver jar is only picked up when the JVM starts: run in a fresh process."
        )


def session_conf(app_name: str, settings: Settings) -> SparkConf:
    """Spark's configuration from settings alone; PDBI_SPARK_CONF last, so it can change any."""
    local_dir = (Path(settings.data_dir) / "spark").resolve()
    local_dir.mkdir(parents=True, exist_ok=True)
    conf = (
        SparkConf()
        .setAppName(app_name)
        .setMaster(settings.spark_master)
        .set("spark.driver.memory", settings.spark_driver_memory)
        .set("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.local.dir", str(local_dir))
        .set("spark.sql.session.timeZone", "UTC")
        # the persisted day is read a few times and then dropped: compressing its cache cost
        # more than it saved (1M events: 18.4 s against 23.7 s to read, split and count, for
        # 267 MB cached against 224 MB; BENCHMARKS.md)
        .set("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # JVM_OPTIONS: on one million events, three interleaved pairs of runs, a fresh JVM
        # each as a flow run starts one, the job took 58.6, 55.7 and 54.5 s with the parallel
        # collector and 61.6, 63.1 and 57.4 s with G1, the JVM's default (BENCHMARKS.md)
        .set("spark.driver.extraJavaOptions", JVM_OPTIONS)
        .set("spark.executor.extraJavaOptions", JVM_OPTIONS)
        # Python workers (if any) must run the driver's interpreter, not whatever `python3` is.
        .set("spark.pyspark.python", sys.executable)
    )
    jar = check_jdbc_jar(settings)
    if jar is not None:
        _check_jar_reachable(jar)
        # spark.jars ships it to a cluster's executors; the class path puts it in the driver's
        # own class loader, where java.sql.DriverManager looks for it
        conf.set("spark.jars", str(jar)).set("spark.driver.extraClassPath", str(jar))
    for key, value in settings.spark_conf.items():
        conf.set(key, str(value))
    return conf


def log_file(settings: Settings) -> Path:
    """Where the driver JVM's own output goes: Spark's and Java's warnings, not the terminal."""
    return (Path(settings.data_dir) / "spark.log").resolve()


def _start_jvm(conf: SparkConf, log: Path) -> None:
    """Start the driver JVM with its stdout and stderr appended to `log` (pyspark's
    launch_gateway takes the Popen arguments for that), once per process: pyspark keeps one
    JVM per process, and later sessions reuse it."""
    if SparkContext._gateway is not None:
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": STDOUT})
        except PySparkRuntimeError as exc:
            raise ConfigError(
                f"Spark's driver JVM did not start ({exc.getErrorClass()}); its output is in {log}."
            ) from None
    SparkContext(conf=conf, gateway=gateway)  # the active context: the builder below reuses it


def build_session(app_name: str, settings: Settings) -> SparkSession:
    """A session configured from settings alone; callers own stopping it."""
    conf = session_conf(app_name, settings)
    with _java_home_for_launch(settings.java_home):
        _start_jvm(conf, log_file(settings))
        spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def work_root(lake: Lake, settings: Settings | None = None) -> str | None:
    """Where Spark's working data live: PDBI_SPARK_WORK_URL; else nowhere apart for a
    local-folder lake (Spark reads and writes it in place, by file://); else
    PDBI_DATA_DIR/spark-work, which only a local master reaches (checked here, at preflight)."""
    settings = settings or get_settings()
    if settings.spark_work_url:
        return as_url(settings.spark_work_url)
    if lake.is_local:
        return None
    if not settings.spark_master.startswith(LOCAL_MASTERS):
        raise ConfigError(
            f"PDBI_SPARK_MASTER={settings.spark_master} runs Spark on other machines, which "
            f"cannot read the lake at {lake.url}; set PDBI_SPARK_WORK_URL to a folder every "
            "node mounts (file:///shared/pdbi-work) or an object store URL (s3a://bucket/work) "
            "where the day's inputs are staged."
        )
    return as_url(Path(settings.data_dir) / "spark-work")


@contextmanager
def spark_session(app_name: str = "pdbi") -> Iterator[SparkSession]:
    """Check Java, start Spark from settings, and always stop it, whatever happens inside.

    A session already running in this process (a notebook's, a test's) is not pdbi's to
    configure or stop: the body gets a session of its own on the same context (`newSession`:
    its own SQL settings, so nothing set for the job leaks into the caller's), with pdbi's
    runtime SQL settings, and the caller's session is left running. The settings only a new
    context takes (master, memory, JVM options) are then the caller's: logged, not applied."""
    settings = get_settings()
    check_java(settings)
    running = running_session()
    if running is not None:
        yield session_beside(running, session_conf(app_name, settings))
        return
    spark = build_session(app_name, settings)
    try:
        yield spark
    finally:
        spark.stop()


def running_session() -> SparkSession | None:
    """The active or default session of this process, if one is running."""
    try:
        return SparkSession.active()
    except PySparkRuntimeError:  # NO_ACTIVE_OR_DEFAULT_SESSION
        return None


def session_beside(running: SparkSession, conf: SparkConf) -> SparkSession:
    """A new session on a running session's context, with what of `conf` a session can set."""
    spark = running.newSession()
    context = running.sparkContext.getConf()  # a copy, taken from the JVM once
    fixed = []
    for key, value in conf.getAll():
        if spark.conf.isModifiable(key):
            spark.conf.set(key, value)
        elif key != "spark.app.name" and context.get(key) != value:
            fixed.append(key)
    if fixed:
        logger.warning(
            "Spark was already running in this process: pdbi runs on its context, which keeps "
            "its own %s (pdbi's settings for them apply to a Spark pdbi starts itself)",
            ", ".join(sorted(fixed)),
        )
    return spark


# --- the warehouse by JDBC -------------------------------------------------------------------

JDBC_DRIVER = "org.postgresql.Driver"
# libpq keywords with a pgjdbc property of the same meaning (pgjdbc names differ for some)
_JDBC_PROPERTIES = {
    "sslmode": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "connect_timeout": "connectTimeout",
    "application_name": "ApplicationName",
}


@dataclass(frozen=True)
class JdbcSource:
    """A PostgreSQL database as Spark's JDBC source. The URL carries no credentials: they go
    to Spark as options (which Spark redacts from plans), and the password is left out of repr."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    properties: dict[str, str] = field(default_factory=dict)

    def options(self) -> dict[str, str]:
        credentials = {"user": self.user, "password": self.password}
        return {
            "url": self.url,
            "driver": JDBC_DRIVER,
            **{k: v for k, v in credentials.items() if v is not None},
            **self.properties,
        }


def jdbc_source(database_url: str) -> JdbcSource:
    """The JDBC URL of a libpq URL or key=value DSN. pgjdbc speaks TCP only: a unix socket
    (the embedded pgserver's only listener, or a URL without a host) is refused with the fix."""
    try:
        params = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError:  # its message may quote the password: not shown
        raise ConfigError(
            "PDBI_DATABASE_URL cannot be read as a PostgreSQL URL or key=value string."
        ) from None
    hosts = str(params.get("host") or "").split(",")
    if any(not h or h.startswith(("/", "@")) for h in hosts):
        raise ConfigError(
            f"PDBI_JDBC_JAR is set, and the JDBC path needs PostgreSQL over TCP, but "
            f"{mask_url(database_url)} is reached through a unix socket (the embedded database "
            "listens on one only); set PDBI_DATABASE_URL to a server's host and port, or unset "
            "PDBI_JDBC_JAR to hand the warehouse to Spark as Parquet."
        )
    ports = str(params.get("port") or "5432").split(",")
    ports = ports * len(hosts) if len(ports) == 1 else ports
    netloc = ",".join(
        f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in zip(hosts, ports, strict=True)
    )
    dbname = quote(str(params.get("dbname") or params.get("user") or ""), safe="")
    return JdbcSource(
        url=f"jdbc:postgresql://{netloc}/{dbname}",
        user=params.get("user"),
        password=params.get("password"),
        properties={_JDBC_PROPERTIES[k]: str(params[k]) for k in _JDBC_PROPERTIES if k in params},
    )


def read_warehouse_students(spark: SparkSession, database_url: str, as_of: date) -> DataFrame:
    """The students as of a day by JDBC, with the same query the Parquet export runs (the day
    composed in as a literal: a JDBC query takes no parameters)."""
    query = sql.SQL(read_sql("export/student_flat_as_of.sql")).format(  # type: ignore[arg-type]
        as_of=sql.Literal(as_of)
    )
    return (
        spark.read.format("jdbc")
        .options(**jdbc_source(database_url).options())
        .option("query", query.as_string(None))
        .option("fetchsize", "10000")
        .load()
    )
