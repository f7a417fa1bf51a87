"""config.yaml + checks/*.yaml + correctors/*.yaml -> typed models, with every error located.

Errors are collected across all files and reported together (`sentinel validate`), each as
``file:line: yaml.path: message``. Unknown keys are errors: a typo must never silently disable a check.
``${ENV}`` references stay unexpanded until a value is used (`expand_env`), so a missing variable only matters
for the source that needs it, and secrets never sit in the parsed model.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    field_validator,
)

from sentinel import yamlfile
from sentinel.envsubst import MissingEnv, expand_env, resolve_url  # noqa: F401 - re-exported
from sentinel.retention import RetentionConfig
from sentinel.timespec import Schedule, parse_schedule
from sentinel.yamlmodel import Duration, Model, Severity, TimeZoneName

# --- sources -------------------------------------------------------------------------------------------


class SqlSourceConfig(Model):
    """Any SQLAlchemy URL: duckdb:///file.duckdb, postgresql+psycopg://..., sqlite:///file.db, ..."""

    type: Literal["sql"]
    url: str
    connect_timeout: Duration = timedelta(seconds=10)


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
    type: Literal["gsheets"]
    credentials: str
    spreadsheet: str
    staging_spreadsheet: str | None = None


class SalesforceOrgConfig(Model):
    domain: str = "login"
    username: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key: str | None = None
    instance_url: str | None = None
    session_id: str | None = None
    version: str = "62.0"


class SalesforceSourceConfig(Model):
    type: Literal["salesforce"]
    production: SalesforceOrgConfig
    staging: SalesforceOrgConfig | None = None


SourceConfig = Annotated[
    SqlSourceConfig | FilesSourceConfig | IcebergSourceConfig | GSheetsSourceConfig | SalesforceSourceConfig,
    Field(discriminator="type"),
]


# --- top level -----------------------------------------------------------------------------------------


class OwnerConfig(Model):
    name: str | None = None
    notify: list[str] = []
    backup: str | None = None
    timezone: TimeZoneName | None = None


class NotifyConfig(Model):
    default: list[str] = ["console://"]
    remind_after: Duration = timedelta(hours=4)
    escalate_after: Duration = timedelta(days=1)
    max_reminders: int = Field(3, ge=0)


class AgentConfig(Model):
    planner: Literal["rules", "claude"] = "rules"
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


def _check_union() -> Any:
    """A discriminated union with one model per registered check kind, keyed by the kind's YAML key."""
    from sentinel.checks import KINDS

    members = []
    for kind, module in KINDS.items():
        entry = create_model(
            f"{kind}_entry",
            __base__=CheckEntryBase,
            kind=(Literal[kind], kind),
            **{f"p_{kind}": (Annotated[module.Params, Field(alias=kind)], ...)},
        )
        members.append(Annotated[entry, Tag(kind)])
    names = set(KINDS)

    def kind_of(raw: Any) -> str | None:
        if isinstance(raw, BaseModel):
            return getattr(raw, "kind", None)
        if not isinstance(raw, dict):
            return None
        found = [k for k in raw if k in names]
        return found[0] if len(found) == 1 else None

    return Annotated[
        Union[tuple(members)],  # noqa: UP007 - a runtime-built union needs the subscript form
        Discriminator(
            kind_of,
            custom_error_type="check_kind",
            custom_error_message="a check needs exactly one kind key, one of: " + ", ".join(sorted(names)),
        ),
    ]


CheckEntry = _check_union()


class DatasetConfig(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]
    source: str
    table: str
    key: str | None = None
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


class ChecksFile(Model):
    datasets: list[DatasetConfig] = []


class PlaybookWhen(Model):
    dataset: str
    check: str | None = None


class PlaybookAllow(Model):
    object: str | None = None
    fields: list[str] = []
    max_rows: int = Field(1, gt=0)


class Playbook(Model):
    name: str
    when: PlaybookWhen
    action: Literal["stage_fix", "notify_owner", "retry", "rerun"] = "notify_owner"
    target: str | None = None
    allow: PlaybookAllow | None = None
    promote: Literal["approval", "auto"] = "approval"
    after_promote: dict[str, str] | None = None


class CorrectorsFile(Model):
    playbooks: list[Playbook] = []


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


def _issues_from(exc: ValidationError, doc: yamlfile.LocatedYaml, display: str) -> list[ConfigIssue]:
    out = []
    for err in exc.errors():
        loc, text = yamlfile.data_path(doc.data, tuple(err["loc"]))
        msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" and loc else _message(err)
        out.append(ConfigIssue(display, doc.line_of(loc), text, msg))
    return out


# --- loading -------------------------------------------------------------------------------------------


@dataclass
class Located:
    """A dataset or playbook with the file and line it was declared at (for cross-reference errors)."""

    file: str
    line: int | None
    path: str


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
        return resolve_url(url, self.root, where)

    @property
    def state_url(self) -> str:
        return self.url(self.main.state, "state")


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


def _expand_globs(root: Path, patterns: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else str(root / pattern)
        for match in sorted(glob.glob(full, recursive=True)):
            p = Path(match)
            if p.is_file() and p not in files:
                files.append(p)
    return files


def load_config(path: str | Path = "config.yaml") -> Config:
    """Load and cross-check every file; raise ConfigError listing every problem found."""
    path = Path(path)
    issues: list[ConfigIssue] = []
    if not path.exists():
        raise ConfigError([ConfigIssue(_display(path), None, "", "config file not found")])
    main, doc = _parse(path, MainConfig, issues)
    root = path.resolve().parent
    main_ok = main is not None
    if main is None:  # keep going with the raw globs, so one `validate` reports every file's errors
        raw = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        globs = {
            k: raw.get(k) if _is_str_list(raw.get(k)) else MainConfig.model_fields[k].default
            for k in ("checks", "correctors")
        }
        main = MainConfig.model_construct(**globs)
    cfg = Config(path=path, root=root, main=main)

    cfg.files = _expand_globs(root, [*main.checks, *main.correctors])
    for file in _expand_globs(root, main.checks):
        parsed, doc = _parse(file, ChecksFile, issues)
        if parsed is None:
            continue
        for i, ds in enumerate(parsed.datasets):
            loc = ("datasets", i)
            cfg.where[id(ds)] = Located(_display(file), doc.line_of(loc), f"datasets[{i}]")
            cfg.datasets.append(ds)
    for file in _expand_globs(root, main.correctors):
        parsed, doc = _parse(file, CorrectorsFile, issues)
        if parsed is None:
            continue
        for i, pb in enumerate(parsed.playbooks):
            cfg.where[id(pb)] = Located(_display(file), doc.line_of(("playbooks", i)), f"playbooks[{i}]")
            cfg.playbooks.append(pb)

    if main_ok:
        issues.extend(_cross_check(cfg))
    if issues:
        raise ConfigError(issues)
    return cfg


def _cross_check(cfg: Config) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []

    def add(obj: Any, suffix: str, message: str) -> None:
        w = cfg.where[id(obj)]
        out.append(ConfigIssue(w.file, w.line, w.path + suffix, message))

    seen: dict[str, DatasetConfig] = {}
    sources, owners = cfg.main.sources, cfg.main.owners
    for ds in cfg.datasets:
        if ds.name in seen:
            first = cfg.where[id(seen[ds.name])]
            add(ds, ".name", f"dataset {ds.name!r} is already declared at {first.file}:{first.line}")
        seen.setdefault(ds.name, ds)
        if ds.source not in sources:
            known = ", ".join(sorted(sources)) or "none declared in config.yaml"
            add(ds, ".source", f"unknown source {ds.source!r} (known: {known})")
        if ds.owner is not None and ds.owner not in owners:
            add(ds, ".owner", f"unknown owner {ds.owner!r} (declare it under owners: in config.yaml)")
        from sentinel.checks import KINDS

        for j, entry in enumerate(ds.checks):
            needs = getattr(KINDS[entry.kind], "needs_key", lambda p: False)(check_params(entry))
            if needs and not ds.key:
                add(ds, f".checks[{j}]", f"{entry.kind} lists rows by key: set `key:` on the dataset")
            if entry.kind == "expect_suite":
                from sentinel.checks.expect_suite import load_suite

                try:
                    load_suite(cfg.root / check_params(entry).path)
                except ValueError as exc:
                    add(ds, f".checks[{j}].expect_suite", str(exc))
    for name, owner in owners.items():
        if owner.backup is not None and owner.backup not in owners:
            out.append(
                ConfigIssue(_display(cfg.path), None, f"owners.{name}.backup", f"unknown owner {owner.backup!r}")
            )
    for pb in cfg.playbooks:
        if pb.when.dataset not in seen:
            add(pb, ".when.dataset", f"unknown dataset {pb.when.dataset!r}")
        elif pb.when.check is not None:
            names = {check_name(c) for c in seen[pb.when.dataset].checks} | {
                c.kind for c in seen[pb.when.dataset].checks
            }
            if pb.when.check not in names:
                add(pb, ".when.check", f"dataset {pb.when.dataset!r} has no check {pb.when.check!r}")
        if pb.target is not None and pb.target not in sources:
            add(pb, ".target", f"unknown source {pb.target!r}")
        if pb.action == "stage_fix" and (pb.target is None or pb.allow is None):
            add(pb, "", "stage_fix needs `target:` and `allow:` (nothing is written without an allowance)")
    return out
