"""config.yaml + checks/*.yaml + correctors/*.yaml -> typed models, with every error located.

Errors are collected across all files and reported together (`sentinel validate`), each as
``file:line: yaml.path: message``, at the line of the key at fault. Datasets and playbooks are validated one by
one, so a bad entry never hides its neighbours' cross-reference errors. Unknown keys, globs matching no file and
a config with no dataset are errors: a typo must never silently stop monitoring.
``${ENV}`` references stay unexpanded until a value is used (`expand_env`), and secrets never sit in the parsed
model; validation parses every SQL URL with placeholders for them and reports each variable the state store or a
source some dataset reads needs but the environment lacks (a source nobody reads stays lazy).
"""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sentinel import yamlfile
from sentinel.envsubst import MissingEnv, expand_env, placeholder_url, references, resolve_url  # noqa: F401
from sentinel.retention import RetentionConfig
from sentinel.timespec import Schedule, format_duration, parse_schedule
from sentinel.yamlmodel import Duration, Model, Severity, TimeZoneName

# --- sources -------------------------------------------------------------------------------------------


class SqlSourceConfig(Model):
    """Any SQLAlchemy URL: duckdb:///file.duckdb, postgresql+psycopg://..., sqlite:///file.db, ..."""

    type: Literal["sql"]
    url: str
    connect_timeout: Duration = timedelta(seconds=10)
    # corrections (a `stage_fix` playbook targeting this source): the URL they write through (default `url`:
    # give a role that may UPDATE the table and create views in the staging schema), and that schema
    write_url: str | None = None
    staging_schema: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "sentinel_staging"


class FilesSourceConfig(Model):
    """Parquet/CSV files queried through DuckDB; a dataset's `table` is a path or glob under `root`."""

    type: Literal["files"]
    root: str = "."
    format: Literal["auto", "parquet", "csv"] = "auto"


class IcebergCatalogConfig(Model):
    name: str = "sentinel"
    uri: str
    warehouse: str


class IcebergSourceConfig(Model):
    """pyiceberg SqlCatalog; a dataset's `table` is `namespace.table`; `branch` picks main or a named branch."""

    type: Literal["iceberg"]
    catalog: IcebergCatalogConfig
    branch: str = "main"


class GSheetsSourceConfig(Model):
    """A Google spreadsheet read through gspread; a dataset's `table` is a worksheet (tab) title.

    Sign-in: `credentials` is a service-account JSON key (a file path, or the JSON itself from `${ENV}`), or
    `token` an OAuth access token from `${ENV}`. Both are expanded only when the sheet is read. `api_root`
    (e.g. `http://127.0.0.1:8080`) sends every https request of the client (Sheets, Drive, the OAuth token
    endpoint) there instead: for a proxy/gateway or a test fake."""

    type: Literal["gsheets"]
    credentials: str | None = None
    token: str | None = None
    spreadsheet: str
    staging_spreadsheet: str | None = None
    api_root: Annotated[str | None, Field(pattern=r"^https?://[^/?#]+(/[^?#]*)?$")] = None
    timeout: Duration = timedelta(seconds=30)


class SalesforceOrgConfig(Model):
    """One Salesforce org and how to log in to it, through simple-salesforce. Exactly one of:
    JWT bearer (`username` + `consumer_key` + `private_key`, PEM text or a file path), client credentials
    (`consumer_key` + `consumer_secret` + a My Domain `domain`), or an existing session (`session_id` +
    `instance_url`), checked when the org is first used (sources/salesforce.py `login_kind`). Username/password
    (SOAP) login is not offered: Salesforce is retiring it. Secrets are `${ENV}` references, expanded only when
    the org is logged in to."""

    domain: str = "login"  # login | test | your My Domain, e.g. acme.my or acme--staging.sandbox.my
    username: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key: str | None = None
    instance_url: str | None = None
    session_id: str | None = None
    version: str = "62.0"
    timeout: Duration = timedelta(seconds=60)  # per HTTP request; simple-salesforce has none by default
    # Every https request of the client goes to this root instead (scheme, host, port; path prefixed):
    # for a proxy/gateway, or a test fake on 127.0.0.1.
    api_root: str | None = None

    @field_validator("api_root")
    @classmethod
    def _root_url(cls, v: str | None) -> str | None:
        from urllib.parse import urlsplit

        if v is not None:
            parts = urlsplit(v)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError("must be an http(s) URL such as https://gateway.example:8443 or http://127.0.0.1:8080")
        return v


class SalesforceSourceConfig(Model):
    """Checks read `production`; `staging` (a sandbox) is where corrections are tried first."""

    type: Literal["salesforce"]
    production: SalesforceOrgConfig
    staging: SalesforceOrgConfig | None = None


class SparkSourceConfig(Model):
    """Spark SQL through Spark Connect: `url: sc://host:15002`, Spark's own connection string, with its
    parameters after `/;` (`sc://host:443/;use_ssl=true;token=${SPARK_TOKEN}`); or a Databricks SQL warehouse,
    `databricks://token:${DATABRICKS_TOKEN}@HOST?http_path=/sql/1.0/warehouses/ID`. A dataset's `table` is
    `name` or `schema.name`."""

    type: Literal["spark"]
    url: str
    connect_timeout: Duration = timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _spark_url(cls, v: str) -> str:
        if not v.lstrip().startswith(("sc://", "databricks://", "${")):
            raise ValueError(
                "expected a Spark Connect URL (sc://host:15002) or a Databricks SQL warehouse URL "
                "(databricks://token:${DATABRICKS_TOKEN}@host?http_path=...)"
            )
        return v


SourceConfig = Annotated[
    SqlSourceConfig
    | FilesSourceConfig
    | IcebergSourceConfig
    | GSheetsSourceConfig
    | SalesforceSourceConfig
    | SparkSourceConfig,
    Field(discriminator="type"),
]


# --- top level -----------------------------------------------------------------------------------------


class OwnerConfig(Model):
    name: str | None = None
    notify: list[str] = []
    backup: str | None = None
    timezone: TimeZoneName | None = None
    working_hours: str = "08:00-18:00 Mon-Fri"  # reminders only inside these, in the owner's timezone

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        from sentinel.notify.hours import parse

        parse(v)  # ValueError: a located config error
        return v


class NotifyConfig(Model):
    default: list[str] = ["console://"]
    remind_after: Duration = timedelta(hours=4)
    escalate_after: Duration = timedelta(days=1)
    max_reminders: int = Field(3, ge=0)


class AgentConfig(Model):
    # the rules planner (sentinel/agent/rules.py); an LLM planner is not built yet, so naming one is an error
    # rather than a silent fall-back to rules
    planner: Literal["rules"] = "rules"
    model: str = "claude-sonnet-4-6"
    api_key: str | None = None


class DaemonConfig(Model):
    """How `sentinel daemon` runs the schedules (README: "The daemon")."""

    workers: int = Field(4, ge=1, description="datasets measured at once")
    timezone: TimeZoneName = "UTC"  # cron schedules are read in this zone
    jitter: Duration | None = None  # spread each run up to this much after its tick
    source_retries: int = Field(2, ge=0, description="extra attempts when a source cannot be reached")
    retry_backoff: Duration = timedelta(seconds=2)  # doubled before each further attempt
    unmeasurable_after: Duration = timedelta(minutes=30)  # then one "could not measure" incident per dataset
    store_retry_for: Duration = timedelta(minutes=5)  # keep retrying a run's write this long, then spool it
    heartbeat: Duration = timedelta(seconds=15)


class MainConfig(Model):
    state: str = "sqlite:///.sentinel/state.db"
    checks: list[str] = ["checks/*.yaml"]
    correctors: list[str] = ["correctors/*.yaml"]
    sources: dict[str, SourceConfig] = {}
    owners: dict[str, OwnerConfig] = {}
    notify: NotifyConfig = NotifyConfig()
    agent: AgentConfig = AgentConfig()
    daemon: DaemonConfig = DaemonConfig()
    fx_rates: dict[str, Annotated[float, Field(gt=0)]] = {}
    evidence_limit: int = Field(1000, gt=0, description="max rows/categories listed per result; counts stay exact")
    retention: RetentionConfig = RetentionConfig()


# --- checks --------------------------------------------------------------------------------------------


class CheckEntryBase(Model):
    """Fields every check entry accepts next to its kind key."""

    severity: Severity | None = None
    name: str | None = None


@functools.cache
def _entry_model(kind: str) -> type[CheckEntryBase]:
    """The entry model of one check kind: its YAML key holds the kind's Params (built on first use)."""
    from sentinel.checks import KINDS

    return create_model(
        f"{kind}_entry",
        __base__=CheckEntryBase,
        kind=(Literal[kind], kind),
        **{f"p_{kind}": (Annotated[KINDS[kind].Params, Field(alias=kind)], ...)},
    )


def _check_entry(raw: Any) -> Any:
    """Validate one check entry with its own kind's model. Not a pydantic union of every kind: that would
    import and build all of them for each config, and a fresh run would pay for kinds it never uses."""
    from sentinel.checks import KINDS

    if isinstance(raw, CheckEntryBase):
        return raw
    found = [k for k in raw if k in KINDS] if isinstance(raw, dict) else []
    if len(found) != 1:
        raise PydanticCustomError(
            "check_kind", "a check needs exactly one kind key, one of: " + ", ".join(sorted(KINDS))
        )
    return _entry_model(found[0]).model_validate(raw)


CheckEntry = Annotated[Any, PlainValidator(_check_entry)]


class OriginConfig(Model):
    """Where a warehouse table's rows come from, so a request names the sheet, tab and rows (or records)
    where the fix belongs. `key` is the origin's column or field that holds the dataset's `key`."""

    source: str
    worksheet: str | None = None  # gsheets: the tab
    range: str | None = None  # gsheets: A1 range of the tab (header row first)
    object: str | None = None  # salesforce: the sObject
    key: str | None = None


class DatasetConfig(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]
    source: str
    table: str  # sql/iceberg: table; files: path or glob; gsheets: worksheet; salesforce: sObject
    key: str | None = None
    fields: list[str] | None = None  # salesforce: the fields read (default: every field the object describes)
    where: str | None = None  # salesforce: a SOQL filter
    header_row: int = Field(1, ge=1)  # gsheets: the row holding column names
    range: str | None = None  # gsheets: an A1 range of the worksheet (header row first)
    origin: OriginConfig | None = None
    owner: str | None = None
    schedule: Annotated[Schedule | None, BeforeValidator(lambda v: v if v is None else parse_schedule(v))] = None
    context: str | None = None
    checks: Annotated[list[CheckEntry], Field(min_length=1)]

    @field_validator("checks")
    @classmethod
    def _unique_names(cls, checks: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for entry in checks:
            n = check_name(entry)
            if n in seen:
                raise ValueError(f"two checks are both named {n!r}; give one a distinct `name:`")
            seen.add(n)
        return checks


class PlaybookWhen(Model):
    """Which incidents a playbook handles: a dataset, optionally one check (its name or kind) and one cause."""

    dataset: str
    check: str | None = None
    cause: str | None = None  # one of the CAUSES of the dataset's check kinds, e.g. magnitude, empty, stale


class PlaybookAllow(Model):
    """What a `stage_fix` may write: the object (sObject; default the dataset's table) and fields, and at most
    `max_rows` rows per change-set."""

    object: str | None = None
    fields: list[str] = []
    max_rows: int = Field(1, gt=0)
    # where a new value may come from: the detector's proof of x / 10^k, the key's `history_by` snapshot, and
    # (only when listed) a conversion at a config `fx_rates` rate
    provenance: list[Literal["power_of_ten", "snapshot", "fx_rate"]] = ["power_of_ten", "snapshot"]


class PlaybookAfterPromote(Model):
    """A downstream restart after a promotion: an argv run without a shell, or an http(s) webhook."""

    rerun: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None
    webhook: str | None = None

    @field_validator("webhook")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        from urllib.parse import urlsplit

        if v is not None and (urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).netloc):
            raise ValueError("must be an http(s) URL such as https://ci.example/hooks/deals")
        return v

    @model_validator(mode="after")
    def _one(self) -> PlaybookAfterPromote:
        if self.rerun is None and self.webhook is None:
            raise ValueError("give `rerun: [argv...]` or `webhook: URL`")
        return self


class Playbook(Model):
    """What Sentinel may do about a dataset's incidents (README "correctors/*.yaml"); load_config cross-checks
    it, and `sentinel.correctors.playbook_for` picks it. Only a `stage_fix` with an allowance may write."""

    name: str
    when: PlaybookWhen
    action: Literal["stage_fix", "notify_owner", "retry", "rerun"] = "notify_owner"
    target: str | None = None
    allow: PlaybookAllow | None = None
    promote: Literal["approval", "auto"] = "approval"
    after_promote: PlaybookAfterPromote | None = None
    priority: int | None = None  # when two playbooks can match one incident, the higher one is used


# --- helpers -------------------------------------------------------------------------------------------


def check_params(entry: Any) -> Any:
    return getattr(entry, f"p_{entry.kind}")


def check_severity(entry: Any) -> str:
    params = check_params(entry)
    return entry.severity or getattr(params, "severity", None) or "error"


def check_name(entry: Any) -> str:
    """The check's stable name: `name:` if given, else derived from its kind (and expectation + column)."""
    params = check_params(entry)
    explicit = entry.name or getattr(params, "name", None)
    if explicit:
        return explicit
    from sentinel.checks import KINDS

    return KINDS[entry.kind].default_name(params)


# --- errors --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    for op, sym in (("greater_than", ">"), ("greater_than_equal", ">="), ("less_than", "<"), ("less_than_equal", "<=")):
        if kind == op:
            bound = next(iter(ctx.values()), "")
            return f"must be {sym} {bound}"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _unknown_kind(entry: Any) -> tuple[str | None, str] | None:
    """For a check entry without exactly one kind key: the offending key and a message naming it."""
    import difflib

    from sentinel.checks import KINDS

    if not isinstance(entry, dict):
        return None
    kinds = [k for k in entry if k in KINDS]
    if len(kinds) > 1:
        return kinds[1], "a check needs exactly one kind key; found " + ", ".join(map(repr, kinds))
    others = [k for k in entry if k not in KINDS and k not in CheckEntryBase.model_fields]
    if kinds or not others:
        return None
    found = str(others[0])
    near = difflib.get_close_matches(found, list(KINDS), n=1)
    hint = f"did you mean {near[0]!r}?" if near else "known kinds: " + ", ".join(sorted(KINDS))
    return others[0], f"unknown check kind {found!r}; {hint}"


def _keys(node: dict | list) -> Any:
    return node if isinstance(node, dict) else range(len(node))


def _issues_from(
    exc: ValidationError, doc: yamlfile.LocatedYaml, display: str, prefix: tuple = ()
) -> list[ConfigIssue]:
    out = []
    for err in exc.errors():
        loc, text = yamlfile.data_path(doc.data, prefix + tuple(err["loc"]))
        msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" and loc else _message(err)
        if err["type"] == "check_kind":
            entry: Any = doc.data
            for part in loc:
                entry = entry[part] if isinstance(entry, dict | list) and part in _keys(entry) else None
            named = _unknown_kind(entry)
            if named is not None:
                key, msg = named
                loc, text = yamlfile.data_path(doc.data, (*loc, key))
        out.append(ConfigIssue(display, doc.line_of(loc), text, msg))
    return out


# --- loading -------------------------------------------------------------------------------------------


@dataclass
class Located:
    """A dataset or playbook with the file and line it was declared at (for cross-reference errors)."""

    file: str
    line: int | None
    path: str
    doc: yamlfile.LocatedYaml | None = None
    loc: tuple = ()

    def at(self, *keys: str | int) -> int | None:
        """The line of a key inside this item (its own line when the key is absent)."""
        return self.doc.line_of(self.loc + keys) if self.doc is not None else self.line

    def issue(self, keys: tuple, message: str) -> ConfigIssue:
        """A located error at `keys` inside this item: `file:line: datasets[0].checks[2]: message`."""
        suffix = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
        return ConfigIssue(self.file, self.at(*keys), self.path + suffix, message)


@dataclass
class Config:
    path: Path
    root: Path
    main: MainConfig
    datasets: list[DatasetConfig] = field(default_factory=list)
    playbooks: list[Playbook] = field(default_factory=list)
    where: dict[int, Located] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)  # every checks/correctors file loaded

    def dataset(self, name: str) -> DatasetConfig:
        for d in self.datasets:
            if d.name == name:
                return d
        raise KeyError(name)

    def url(self, url: str, where: str = "") -> str:
        """The URL to connect to: secrets expanded (percent-encoded where they land inside the URL), file
        databases made absolute. MissingEnv, never naming a value, when the expansion is not a URL."""
        resolved = resolve_url(url, self.root, where)
        if references(url) and _url_problem(resolved) is not None:
            raise MissingEnv(f"{where + ': ' if where else ''}not a valid URL once its ${{...}} are expanded")
        return resolved

    @property
    def state_url(self) -> str:
        return self.url(self.main.state, "state")


def _url_problem(url: str) -> str | None:
    """Why `url` is not a SQLAlchemy URL, or None. ${VAR}s are parsed as placeholders: a secret's own
    characters cannot break the parse, and a template that is one variable is checked when used."""
    if url.lstrip().startswith("${"):
        return None
    from sqlalchemy.engine.url import make_url

    try:
        make_url(placeholder_url(url))
    except ValueError:
        return "not a valid URL: the port must be a number"
    except Exception:
        return "not a valid URL (expected dialect+driver://user:password@host:port/database)"
    return None


def _load_items(
    path: Path, key: str, model: type[BaseModel], issues: list[ConfigIssue]
) -> tuple[list[tuple[int, Any, Any]], yamlfile.LocatedYaml | None]:
    """Parse a checks/correctors file item by item: (index, model or None, raw item) for each entry of
    `key`. One bad dataset does not hide its neighbours from the cross-checks."""
    display = _display(path)
    try:
        doc = yamlfile.load(path)
    except yamlfile.YamlSyntaxError as exc:
        issues.append(ConfigIssue(display, exc.line, "", exc.message))
        return [], None
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        issues.append(ConfigIssue(display, 1, "", f"expected a mapping at the top level, got {type(data).__name__}"))
        return [], doc
    for extra in data:
        if extra != key:
            issues.append(ConfigIssue(display, doc.line_of((extra,)), str(extra), f"unknown key {extra!r}"))
    raw = data.get(key) or []
    if not isinstance(raw, list):
        issues.append(ConfigIssue(display, doc.line_of((key,)), key, "must be a list"))
        return [], doc
    out = []
    for i, item in enumerate(raw):
        try:
            out.append((i, model.model_validate(item), item))
        except ValidationError as exc:
            issues.extend(_issues_from(exc, doc, display, (key, i)))
            out.append((i, None, item))
    return out, doc


def _parse(path: Path, model: type[BaseModel], issues: list[ConfigIssue]) -> tuple[Any, yamlfile.LocatedYaml | None]:
    display = _display(path)
    try:
        doc = yamlfile.load(path)
    except yamlfile.YamlSyntaxError as exc:
        issues.append(ConfigIssue(display, exc.line, "", exc.message))
        return None, None
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        issues.append(ConfigIssue(display, 1, "", f"expected a mapping at the top level, got {type(data).__name__}"))
        return None, doc
    try:
        return model.model_validate(data), doc
    except ValidationError as exc:
        issues.extend(_issues_from(exc, doc, display))
        return None, doc


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _glob(root: Path, pattern: str) -> list[Path]:
    full = pattern if os.path.isabs(pattern) else str(root / pattern)
    return [Path(m) for m in sorted(glob.glob(full, recursive=True)) if Path(m).is_file()]


def _expand_globs(root: Path, patterns: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        files.extend(p for p in _glob(root, pattern) if p not in files)
    return files


def _load_located(
    cfg: Config, files: list[Path], key: str, model: type[BaseModel], issues: list[ConfigIssue]
) -> list[tuple[Located, Any, Any]]:
    """(where, model or None, raw item) for each `key` entry of `files`; the valid ones' places are recorded
    in cfg.where."""
    found = []
    for file in files:
        items, fdoc = _load_items(file, key, model, issues)
        for i, obj, item in items:
            w = Located(_display(file), fdoc.line_of((key, i)), f"{key}[{i}]", fdoc, (key, i))
            found.append((w, obj, item))
            if obj is not None:
                cfg.where[id(obj)] = w
    return found


def _leaves_folder(path: str) -> bool:
    """True when a path meant to stay inside a folder is absolute or climbs out of it with `..`."""
    return os.path.isabs(path) or os.path.normpath(path).split(os.sep)[0] == ".."


@dataclass
class _Raw:
    """What the cross-checks need from config.yaml even when it did not validate."""

    doc: yamlfile.LocatedYaml | None
    display: str
    data: dict[str, Any]

    def names(self, key: str) -> set[str]:
        value = self.data.get(key)
        return {str(k) for k in value} if isinstance(value, dict) else set()

    def issue(self, loc: tuple, message: str) -> ConfigIssue:
        line = self.doc.line_of(loc) if self.doc is not None else None
        return ConfigIssue(self.display, line, yamlfile.data_path(self.data, loc)[1], message)


def load_config(path: str | Path = "config.yaml") -> Config:
    """Load and cross-check every file; raise ConfigError listing every problem found."""
    path = Path(path)
    issues: list[ConfigIssue] = []
    if not path.exists():
        raise ConfigError([ConfigIssue(_display(path), None, "", "config file not found")])
    main, doc = _parse(path, MainConfig, issues)
    root = path.resolve().parent
    raw = _Raw(doc, _display(path), doc.data if doc is not None and isinstance(doc.data, dict) else {})
    main_ok = main is not None
    if main is None:  # keep going with the raw globs, so one `validate` reports every file's errors
        globs = {
            k: raw.data.get(k) if _is_str_list(raw.data.get(k)) else MainConfig.model_fields[k].default
            for k in ("checks", "correctors")
        }
        main = MainConfig.model_construct(**globs)
    cfg = Config(path=path, root=root, main=main)

    for key in ("checks", "correctors"):
        if key in raw.data:  # a glob written in config.yaml that matches nothing is a typo that stops monitoring
            for i, pattern in enumerate(getattr(main, key)):
                if not _glob(root, pattern):
                    issues.append(raw.issue((key, i), f"{pattern!r} matches no file"))
    check_files, corrector_files = _expand_globs(root, main.checks), _expand_globs(root, main.correctors)
    cfg.files = check_files + [f for f in corrector_files if f not in check_files]
    before = len(issues)
    datasets = _load_located(cfg, check_files, "datasets", DatasetConfig, issues)
    cfg.datasets = [ds for _, ds, _ in datasets if ds is not None]
    playbooks = _load_located(cfg, corrector_files, "playbooks", Playbook, issues)
    cfg.playbooks = [pb for _, pb, _ in playbooks if pb is not None]
    if not datasets and len(issues) == before:  # (a checks file that did not parse says so already)
        where = ", ".join(main.checks) or "nothing"
        issues.append(raw.issue(("checks",), f"no datasets declared (checks: {where}); nothing would be monitored"))

    issues.extend(_cross_check(cfg, raw, datasets, playbooks, main_ok))
    if issues:
        raise ConfigError(issues)
    return cfg


def _cross_check(
    cfg: Config,
    raw: _Raw,
    datasets: list[tuple[Located, DatasetConfig | None, Any]],
    playbooks: list[tuple[Located, Playbook | None, Any]],
    main_ok: bool,
) -> list[ConfigIssue]:
    from sentinel.checks import KINDS

    out: list[ConfigIssue] = []

    def add(w: Located, keys: tuple, message: str) -> None:
        out.append(w.issue(keys, message))

    sources = set(cfg.main.sources) if main_ok else raw.names("sources")
    owners = set(cfg.main.owners) if main_ok else raw.names("owners")
    seen: dict[str, Located] = {}
    valid: dict[str, DatasetConfig] = {}
    read: set[str] = set()
    tabs: dict[tuple[str, str], tuple[Located, DatasetConfig]] = {}
    for w, ds, item in datasets:
        item = item if isinstance(item, dict) else {}
        name, source, owner = item.get("name"), item.get("source"), item.get("owner")
        if isinstance(name, str):
            if name in seen:
                add(w, ("name",), f"dataset {name!r} is already declared at {seen[name].file}:{seen[name].line}")
            seen.setdefault(name, w)
            if ds is not None:
                valid.setdefault(name, ds)
        if isinstance(source, str):
            read.add(source)
            if source not in sources:
                known = ", ".join(sorted(sources)) or "none declared in config.yaml"
                add(w, ("source",), f"unknown source {source!r} (known: {known})")
        if isinstance(owner, str) and owner not in owners:
            add(w, ("owner",), f"unknown owner {owner!r} (declare it under owners: in config.yaml)")
        if ds is None:
            continue
        src = cfg.main.sources.get(ds.source) if main_ok else None
        if isinstance(src, FilesSourceConfig) and _leaves_folder(ds.table):
            add(w, ("table",), f"{ds.table!r} is outside the source's root folder ({src.root}); name a path under it")
        for keys, message in _sheet_issues(ds, item, src, cfg.main.sources if main_ok else None):
            add(w, keys, message)
        if isinstance(src, GSheetsSourceConfig):  # the source reads a tab one way (it is opened by table name)
            first = tabs.setdefault((ds.source, ds.table), (w, ds))
            if (first[1].header_row, first[1].range) != (ds.header_row, ds.range):
                add(
                    w,
                    ("table",),
                    f"tab {ds.table!r} of source {ds.source!r} is also read by dataset {first[1].name!r} "
                    f"({first[0].file}:{first[0].line}) with another header_row/range; give both the same, "
                    "or declare a second source for the same spreadsheet",
                )
        if src is not None and not isinstance(src, SalesforceSourceConfig):
            for opt in ("fields", "where"):
                if getattr(ds, opt) is not None:
                    add(w, (opt,), f"`{opt}:` applies to salesforce sources only (source {ds.source!r} is {src.type})")
        for j, entry in enumerate(ds.checks):
            needs = getattr(KINDS[entry.kind], "needs_key", lambda p: False)(check_params(entry))
            if needs and not ds.key:
                add(w, ("checks", j), f"{entry.kind} lists rows by key: set `key:` on the dataset")
            if entry.kind == "expect_suite":
                from sentinel.checks.expect_suite import load_suite

                suite = check_params(entry).path
                if _leaves_folder(suite):
                    add(w, ("checks", j, "expect_suite"), f"{suite!r} is outside the config folder")
                    continue
                try:
                    load_suite(cfg.root / suite)
                except ValueError as exc:
                    add(w, ("checks", j, "expect_suite"), str(exc))
    out.extend(_url_issues(raw, read))
    out.extend(_outbox_issues(raw))
    out.extend(_jitter_issues(cfg, raw, list(valid.values())) if main_ok else [])
    for name, src in cfg.main.sources.items() if main_ok else ():
        if isinstance(src, GSheetsSourceConfig) and (src.credentials is None) == (src.token is None):
            message = "give exactly one of `credentials:` (service-account JSON) or `token:` (OAuth access token)"
            out.append(raw.issue(("sources", name), message))
    for name, owner in cfg.main.owners.items() if main_ok else ():
        if owner.backup is not None and owner.backup not in owners:
            out.append(raw.issue(("owners", name, "backup"), f"unknown owner {owner.backup!r}"))
    out.extend(_unreachable_owners(cfg, datasets) if main_ok else [])
    out.extend(_playbook_issues(cfg, playbooks, seen, valid, sources, main_ok))
    return out


def _jitter_issues(cfg: Config, raw: _Raw, datasets: list[DatasetConfig]) -> list[ConfigIssue]:
    """daemon.jitter must be shorter than every dataset's shortest gap between ticks: a run jittered past its
    next tick would count as that tick's, and the one it was for would never run."""
    jitter = cfg.main.daemon.jitter
    if not jitter or not datasets:
        return []
    from sentinel.scheduler import shortest_gap

    gap, name = min((shortest_gap(ds.schedule, cfg.main.daemon.timezone), ds.name) for ds in datasets)
    if jitter < gap:
        return []
    message = f"must be shorter than every dataset's interval; {name!r} runs every {format_duration(gap)}"
    return [raw.issue(("daemon", "jitter"), message)]


def _causes(ds: DatasetConfig, checks: set[str]) -> dict[str, None]:
    """The causes the named checks of `ds` can report, in declaration order (CAUSES of each check kind)."""
    from sentinel.checks import KINDS

    kinds = [c.kind for c in ds.checks if check_name(c) in checks]
    return {cause: None for kind in kinds for cause in KINDS[kind].CAUSES}


def playbook_checks(ds: DatasetConfig, check: str | None) -> set[str]:
    """The names of the checks of `ds` a playbook's `when.check` covers: a check's name or kind; None is all."""
    return {check_name(c) for c in ds.checks if check is None or check in (check_name(c), c.kind)}


def _has_staging(src: Any) -> str | None:
    """Why `stage_fix` cannot write through this source, or None when it has a staging environment."""
    if isinstance(src, SalesforceSourceConfig) and src.staging is None:
        return "has no `staging:` org (a sandbox) to try the fix in first"
    if isinstance(src, GSheetsSourceConfig) and src.staging_spreadsheet is None:
        return "has no `staging_spreadsheet:` to try the fix in first"
    if isinstance(src, FilesSourceConfig):
        return "is a files source, which Sentinel never writes"
    return None


def _playbook_issues(
    cfg: Config,
    playbooks: list[tuple[Located, Playbook | None, Any]],
    seen: dict[str, Located],
    valid: dict[str, DatasetConfig],
    sources: set[str],
    main_ok: bool,
) -> list[ConfigIssue]:
    """Each playbook's references and allowance, and every pair that could match one incident."""
    out: list[ConfigIssue] = []

    def add(w: Located, keys: tuple, message: str) -> None:
        out.append(w.issue(keys, message))

    names: dict[str, Located] = {}
    scopes: list[tuple[Located, Playbook, DatasetConfig, set[str]]] = []  # with the check names it covers
    for w, pb, item in playbooks:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            if name in names:
                add(w, ("name",), f"playbook {name!r} is already declared at {names[name].file}:{names[name].line}")
            names.setdefault(name, w)
        if pb is None:
            continue
        when, ds = pb.when, valid.get(pb.when.dataset)
        if when.dataset not in seen:
            add(w, ("when", "dataset"), f"unknown dataset {when.dataset!r}")
        elif ds is not None:
            covered = playbook_checks(ds, when.check)
            if not covered:
                add(w, ("when", "check"), f"dataset {when.dataset!r} has no check {when.check!r}")
            elif when.cause is not None and when.cause not in (known := _causes(ds, covered)):
                of = f"check {when.check!r}" if when.check else f"dataset {when.dataset!r}"
                add(w, ("when", "cause"), f"{of} never reports cause {when.cause!r} (known: {', '.join(known)})")
            else:
                scopes.append((w, pb, ds, covered))
        src = cfg.main.sources.get(pb.target) if main_ok and pb.target is not None else None
        if pb.target is not None and pb.target not in sources:
            add(w, ("target",), f"unknown source {pb.target!r}")
        if pb.action == "notify_owner" and pb.target is not None:
            add(w, ("target",), "notify_owner writes nothing: remove `target:`")
        if pb.action != "stage_fix":
            if pb.allow is not None:
                add(w, ("allow",), f"`allow:` applies to stage_fix only (action is {pb.action})")
            if pb.promote == "auto":
                add(w, ("promote",), f"`promote: auto` applies to stage_fix only (action is {pb.action})")
            if pb.after_promote is not None:
                add(w, ("after_promote",), f"`after_promote:` applies to stage_fix only (action is {pb.action})")
            continue
        if pb.target is None or pb.allow is None:
            add(w, (), "stage_fix needs `target:` and `allow:` (nothing is written without an allowance)")
        elif not pb.allow.fields:
            add(
                w,
                ("allow", "fields") if "fields" in item["allow"] else ("allow",),
                "stage_fix needs `fields:`: the fields it may write (nothing is written without an allowance)",
            )
        elif src is not None:
            for keys, message in _offline_allowance(cfg, pb):
                add(w, keys, message)
        if src is not None and (why := _has_staging(src)) is not None:
            add(w, ("target",), f"stage_fix cannot write to {pb.target!r}: it {why}")
    out.extend(_overlaps(scopes))
    return out


def _same_cause(a: Playbook, b: Playbook, ds: DatasetConfig, checks: set[str]) -> bool:
    """Whether one incident of `checks` can have a cause both playbooks accept (no `cause:` accepts all)."""
    causes = {c for c in (a.when.cause, b.when.cause) if c is not None}
    return not causes or (len(causes) == 1 and causes <= set(_causes(ds, checks)))


def _overlaps(scopes: list[tuple[Located, Playbook, DatasetConfig, set[str]]]) -> list[ConfigIssue]:
    """Two playbooks that can match one incident need distinct explicit priorities."""
    out: list[ConfigIssue] = []
    for i, (w, pb, ds, covered) in enumerate(scopes):
        for w0, pb0, _ds, covered0 in scopes[:i]:
            both = covered & covered0
            if pb.when.dataset != pb0.when.dataset or not both or not _same_cause(pb, pb0, ds, both):
                continue
            if pb.priority is not None and pb0.priority is not None and pb.priority != pb0.priority:
                continue
            equal = pb.priority is not None and pb.priority == pb0.priority
            fix = "their priorities are equal; make them differ" if equal else "give both a distinct `priority:`"
            message = (
                f"playbooks {pb0.name!r} ({w0.file}:{w0.line}) and {pb.name!r} can both match one incident "
                f"of {pb.when.dataset} ({', '.join(sorted(both))}); narrow `when:` or {fix}"
            )
            out.append(
                ConfigIssue(
                    w.file,
                    w.at("priority") if equal else w.at("when"),
                    w.path + (".priority" if equal else ".when"),
                    message,
                )
            )
    return out


def _did_you_mean(name: str, known: list[str]) -> str:
    import difflib

    lowered = {k.lower(): k for k in known}
    near = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return f"did you mean {lowered[near[0]]!r}?" if near else "known: " + ", ".join(known)


def _offline_allowance(cfg: Config, pb: Playbook) -> list[tuple[tuple, str]]:
    """`allow.fields` against the fields a config declares for the target, where it names them: a salesforce
    dataset's `fields:` on the same object. Anything else is described at run time (`check_allowance`)."""
    assert pb.allow is not None
    obj = pb.allow.object or _dataset_table(cfg, pb)
    declared = next(
        (
            ds.fields
            for ds in cfg.datasets
            if ds.source == pb.target and ds.fields is not None and ds.table.lower() == (obj or "").lower()
        ),
        None,
    )
    if declared is None or not isinstance(cfg.main.sources.get(pb.target or ""), SalesforceSourceConfig):
        return []
    return [
        (("allow", "fields", j), f"{f!r} is not a field the datasets read from {obj}; {_did_you_mean(f, declared)}")
        for j, f in enumerate(pb.allow.fields)
        if f.lower() not in {d.lower() for d in declared}
    ]


def _dataset_table(cfg: Config, pb: Playbook) -> str | None:
    ds = next((d for d in cfg.datasets if d.name == pb.when.dataset), None)
    return ds.table if ds is not None and ds.source == pb.target else None


def check_allowance(cfg: Config, playbook: Playbook, columns: dict[str, Any]) -> list[str]:
    """Each `allow.fields` entry the target lacks, as a located message with a did-you-mean. `columns` is the
    target's description at run time (column or field name -> type): a sql table can only be described by
    connecting, which loading the config never does. The correction code calls this before planning.
    Salesforce field names match regardless of case, as the API treats them."""
    allow = playbook.allow
    if allow is None:
        return []
    w = cfg.where.get(id(playbook))
    known = list(columns)
    what = allow.object or _dataset_table(cfg, playbook) or playbook.target
    fold = isinstance(cfg.main.sources.get(playbook.target or ""), SalesforceSourceConfig)  # API names ignore case
    have = {c.lower() for c in columns} if fold else set(columns)
    out = []
    for j, f in enumerate(allow.fields):
        if (f.lower() if fold else f) in have:
            continue
        message = f"{f!r} is not a column of {what} ({playbook.target}); {_did_you_mean(f, known)}"
        if w is not None:
            message = str(ConfigIssue(w.file, w.at("allow", "fields", j), f"{w.path}.allow.fields[{j}]", message))
        out.append(message)
    return out


def _range_problem(a1_range: str) -> str | None:
    from sentinel.sources import a1  # imported by configs that name a range only

    return a1.range_problem(a1_range)


def _sheet_issues(ds: DatasetConfig, item: dict, src: Any, sources: dict[str, Any] | None) -> list[tuple[tuple, str]]:
    """A dataset's gsheets read options and its `origin:`: each (keys inside the dataset, message)."""
    out: list[tuple[tuple, str]] = []
    if src is not None and not isinstance(src, GSheetsSourceConfig):
        out += [((k,), "applies to gsheets sources only") for k in ("header_row", "range") if k in item]
    elif ds.range is not None and (problem := _range_problem(ds.range)):
        out.append((("range",), problem))
    origin = ds.origin
    if origin is None or sources is None:
        return out
    osrc = sources.get(origin.source)
    sheet_only = [k for k in ("worksheet", "range") if getattr(origin, k) is not None]
    if osrc is None:
        known = ", ".join(sorted(sources)) or "none declared in config.yaml"
        out.append((("origin", "source"), f"unknown source {origin.source!r} (known: {known})"))
    elif isinstance(osrc, GSheetsSourceConfig):
        if origin.worksheet is None:
            out.append((("origin",), "a gsheets origin needs `worksheet:` (the tab the rows come from)"))
        if origin.object is not None:
            out.append((("origin", "object"), "applies to salesforce origins only"))
        if origin.range is not None and (problem := _range_problem(origin.range)):
            out.append((("origin", "range"), problem))
    elif isinstance(osrc, SalesforceSourceConfig):
        if origin.object is None:
            out.append((("origin",), "a salesforce origin needs `object:` (the sObject the rows come from)"))
        out += [(("origin", k), "applies to gsheets origins only") for k in sheet_only]
    else:
        message = f"{origin.source!r} is a {osrc.type} source; an origin is a gsheets or salesforce source"
        out.append((("origin", "source"), message))
    return out


def _unreachable_owners(cfg: Config, datasets: list[tuple[Located, DatasetConfig | None, Any]]) -> list[ConfigIssue]:
    """An owner a dataset names must have a `notify` channel, or that dataset's requests reach no one."""
    out: list[ConfigIssue] = []
    for w, ds, _item in datasets:
        owner = cfg.main.owners.get(ds.owner) if ds is not None and ds.owner else None
        if owner is not None and not owner.notify:
            message = f"owner {ds.owner!r} has no notify channel: requests for {ds.name} would reach no one"
            out.append(ConfigIssue(w.file, w.at("owner"), w.path + ".owner", message))
    return out


def _strings(value: Any, loc: tuple) -> list[tuple[tuple, str]]:
    """Every string inside a raw YAML value, with its location."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _strings(v, (*loc, k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _strings(v, (*loc, i))]
    return []


def _url_issues(raw: _Raw, read: set[str]) -> list[ConfigIssue]:
    """Every SQL URL parses (secrets as placeholders); every ${VAR} that the state store or a source some
    dataset reads needs is set. A source nobody reads stays lazy: its variables may be missing."""
    out: list[ConfigIssue] = []
    state = raw.data.get("state", MainConfig.model_fields["state"].default)
    needed: list[tuple[tuple, str]] = [(("state",), state)] if isinstance(state, str) else []
    urls = list(needed)
    sources = raw.data.get("sources") if isinstance(raw.data.get("sources"), dict) else {}
    for name, src in sources.items():
        if not isinstance(src, dict):
            continue
        if src.get("type") == "sql" and isinstance(src.get("url"), str):
            urls.append((("sources", name, "url"), src["url"]))
        catalog = src.get("catalog")
        if src.get("type") == "iceberg" and isinstance(catalog, dict) and isinstance(catalog.get("uri"), str):
            if catalog["uri"].startswith(("sqlite", "duckdb", "postgresql")):
                urls.append((("sources", name, "catalog", "uri"), catalog["uri"]))
        if name in read:
            needed.extend(_strings(src, ("sources", name)))
    for loc, url in urls:
        problem = _url_problem(url)
        if problem is not None:
            out.append(raw.issue(loc, problem))
    for loc, value in needed:
        for var in dict.fromkeys(references(value)):
            if var not in os.environ:
                out.append(raw.issue(loc, f"environment variable {var} is not set"))
    return out


def _outbox_issues(raw: _Raw) -> list[ConfigIssue]:
    """`outbox://` files stay inside the config folder: a checks or config edit cannot append elsewhere."""
    found: list[tuple[tuple, str]] = []
    notify = raw.data.get("notify")
    if isinstance(notify, dict):
        found.extend(_strings(notify.get("default"), ("notify", "default")))
    owners = raw.data.get("owners")
    for name, owner in owners.items() if isinstance(owners, dict) else ():
        if isinstance(owner, dict):
            found.extend(_strings(owner.get("notify"), ("owners", name, "notify")))
    return [
        raw.issue(loc, f"{url!r}: the outbox file must be inside the config folder")
        for loc, url in found
        if url.startswith("outbox://") and _leaves_folder(url[len("outbox://") :])
    ]
