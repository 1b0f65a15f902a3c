from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VersionReply(_message.Message):
    __slots__ = ("version", "containerd_version", "cgroup_mode", "instance")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTAINERD_VERSION_FIELD_NUMBER: _ClassVar[int]
    CGROUP_MODE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    version: str
    containerd_version: str
    cgroup_mode: str
    instance: str
    def __init__(self, version: _Optional[str] = ..., containerd_version: _Optional[str] = ..., cgroup_mode: _Optional[str] = ..., instance: _Optional[str] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: str
    def __init__(self, name: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class Problem(_message.Message):
    __slots__ = ("file", "line", "field", "message", "hint")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    field: str
    message: str
    hint: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ..., hint: _Optional[str] = ...) -> None: ...

class PlanAction(_message.Message):
    __slots__ = ("op", "path", "cause")
    OP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    op: str
    path: str
    cause: str
    def __init__(self, op: _Optional[str] = ..., path: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("actions", "unowned", "waiting")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    UNOWNED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[PlanAction]
    unowned: _containers.RepeatedScalarFieldContainer[str]
    waiting: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, actions: _Optional[_Iterable[_Union[PlanAction, _Mapping]]] = ..., unowned: _Optional[_Iterable[str]] = ..., waiting: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("documents", "dry_run", "prune", "prune_set")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    PRUNE_SET_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    dry_run: bool
    prune: bool
    prune_set: str
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., dry_run: _Optional[bool] = ..., prune: _Optional[bool] = ..., prune_set: _Optional[str] = ...) -> None: ...

class ApplyReply(_message.Message):
    __slots__ = ("applied", "unchanged", "pruned", "warnings", "plan", "pass_number")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    PRUNED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    applied: _containers.RepeatedScalarFieldContainer[str]
    unchanged: _containers.RepeatedScalarFieldContainer[str]
    pruned: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedCompositeFieldContainer[Problem]
    plan: Plan
    pass_number: int
    def __init__(self, applied: _Optional[_Iterable[str]] = ..., unchanged: _Optional[_Iterable[str]] = ..., pruned: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[_Union[Problem, _Mapping]]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ..., pass_number: _Optional[int] = ...) -> None: ...

class DiffRequest(_message.Message):
    __slots__ = ("documents",)
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ...) -> None: ...

class DiffReply(_message.Message):
    __slots__ = ("plan", "warnings")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    warnings: _containers.RepeatedCompositeFieldContainer[Problem]
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ..., warnings: _Optional[_Iterable[_Union[Problem, _Mapping]]] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("paths", "documents")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ...) -> None: ...

class DeleteReply(_message.Message):
    __slots__ = ("deleted", "pass_number")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    deleted: _containers.RepeatedScalarFieldContainer[str]
    pass_number: int
    def __init__(self, deleted: _Optional[_Iterable[str]] = ..., pass_number: _Optional[int] = ...) -> None: ...

class ContainerStatus(_message.Message):
    __slots__ = ("name", "state", "pid", "has_exit_code", "exit_code", "restart_count", "image", "image_digest")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    HAS_EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    pid: int
    has_exit_code: bool
    exit_code: int
    restart_count: int
    image: str
    image_digest: str
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., pid: _Optional[int] = ..., has_exit_code: _Optional[bool] = ..., exit_code: _Optional[int] = ..., restart_count: _Optional[int] = ..., image: _Optional[str] = ..., image_digest: _Optional[str] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("kind", "path", "name", "phase", "reason", "message", "owner", "origin", "ip", "containers", "labels", "manifest", "observed_pass", "memory_bytes", "pids", "stopped", "since")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_PASS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    path: str
    name: str
    phase: str
    reason: str
    message: str
    owner: str
    origin: str
    ip: str
    containers: _containers.RepeatedCompositeFieldContainer[ContainerStatus]
    labels: _containers.ScalarMap[str, str]
    manifest: str
    observed_pass: int
    memory_bytes: int
    pids: int
    stopped: bool
    since: float
    def __init__(self, kind: _Optional[str] = ..., path: _Optional[str] = ..., name: _Optional[str] = ..., phase: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., owner: _Optional[str] = ..., origin: _Optional[str] = ..., ip: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[ContainerStatus, _Mapping]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., manifest: _Optional[str] = ..., observed_pass: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., pids: _Optional[int] = ..., stopped: _Optional[bool] = ..., since: _Optional[float] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("kind", "prefix")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    kind: str
    prefix: str
    def __init__(self, kind: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class ListReply(_message.Message):
    __slots__ = ("resources", "pass_number")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    pass_number: int
    def __init__(self, resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., pass_number: _Optional[int] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("path", "kind")
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    path: str
    kind: str
    def __init__(self, path: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class SourceStatus(_message.Message):
    __slots__ = ("name", "error", "resources", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    error: str
    resources: int
    revision: str
    def __init__(self, name: _Optional[str] = ..., error: _Optional[str] = ..., resources: _Optional[int] = ..., revision: _Optional[str] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("instance", "pass_number", "last_pass_seconds", "last_pass_at", "last_pass_actions", "last_pass_errors", "sources", "conflicts", "pending", "phases", "cgroup_mode", "containerd")
    class PhasesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LAST_PASS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_PASS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_PASS_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    LAST_PASS_ERRORS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    CGROUP_MODE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERD_FIELD_NUMBER: _ClassVar[int]
    instance: str
    pass_number: int
    last_pass_seconds: float
    last_pass_at: float
    last_pass_actions: int
    last_pass_errors: int
    sources: _containers.RepeatedCompositeFieldContainer[SourceStatus]
    conflicts: _containers.RepeatedScalarFieldContainer[str]
    pending: Plan
    phases: _containers.ScalarMap[str, int]
    cgroup_mode: str
    containerd: str
    def __init__(self, instance: _Optional[str] = ..., pass_number: _Optional[int] = ..., last_pass_seconds: _Optional[float] = ..., last_pass_at: _Optional[float] = ..., last_pass_actions: _Optional[int] = ..., last_pass_errors: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[SourceStatus, _Mapping]]] = ..., conflicts: _Optional[_Iterable[str]] = ..., pending: _Optional[_Union[Plan, _Mapping]] = ..., phases: _Optional[_Mapping[str, int]] = ..., cgroup_mode: _Optional[str] = ..., containerd: _Optional[str] = ...) -> None: ...

class EventsRequest(_message.Message):
    __slots__ = ("follow", "after_id", "prefix", "limit")
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    follow: bool
    after_id: int
    prefix: str
    limit: int
    def __init__(self, follow: _Optional[bool] = ..., after_id: _Optional[int] = ..., prefix: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "time", "type", "path", "reason", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    time: float
    type: str
    path: str
    reason: str
    message: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[float] = ..., type: _Optional[str] = ..., path: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("cell", "container", "follow", "tail")
    CELL_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    cell: str
    container: str
    follow: bool
    tail: int
    def __init__(self, cell: _Optional[str] = ..., container: _Optional[str] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class TargetRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class TargetReply(_message.Message):
    __slots__ = ("affected", "pass_number")
    AFFECTED_FIELD_NUMBER: _ClassVar[int]
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    affected: _containers.RepeatedScalarFieldContainer[str]
    pass_number: int
    def __init__(self, affected: _Optional[_Iterable[str]] = ..., pass_number: _Optional[int] = ...) -> None: ...

class ImagePullRequest(_message.Message):
    __slots__ = ("ref", "realm")
    REF_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    realm: str
    def __init__(self, ref: _Optional[str] = ..., realm: _Optional[str] = ...) -> None: ...

class ImagePullProgress(_message.Message):
    __slots__ = ("status", "done_bytes", "total_bytes", "digest")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DONE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    status: str
    done_bytes: int
    total_bytes: int
    digest: str
    def __init__(self, status: _Optional[str] = ..., done_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., digest: _Optional[str] = ...) -> None: ...

class ImageImportChunk(_message.Message):
    __slots__ = ("realm", "data")
    REALM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    realm: str
    data: bytes
    def __init__(self, realm: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("name", "digest", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    digest: str
    size: int
    def __init__(self, name: _Optional[str] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ImageImportReply(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class ImageListRequest(_message.Message):
    __slots__ = ("realm",)
    REALM_FIELD_NUMBER: _ClassVar[int]
    realm: str
    def __init__(self, realm: _Optional[str] = ...) -> None: ...

class ImageListReply(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class ImageRemoveRequest(_message.Message):
    __slots__ = ("ref", "realm")
    REF_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    realm: str
    def __init__(self, ref: _Optional[str] = ..., realm: _Optional[str] = ...) -> None: ...

class ImageRemoveReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DoctorRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Check(_message.Message):
    __slots__ = ("name", "ok", "detail", "fix")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    fix: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ..., fix: _Optional[str] = ...) -> None: ...

class DoctorReply(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[Check]
    def __init__(self, checks: _Optional[_Iterable[_Union[Check, _Mapping]]] = ...) -> None: ...

class PruneRequest(_message.Message):
    __slots__ = ("unowned", "dry_run", "confirm_empty")
    UNOWNED_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_EMPTY_FIELD_NUMBER: _ClassVar[int]
    unowned: bool
    dry_run: bool
    confirm_empty: bool
    def __init__(self, unowned: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., confirm_empty: _Optional[bool] = ...) -> None: ...

class PruneReply(_message.Message):
    __slots__ = ("paths",)
    PATHS_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, paths: _Optional[_Iterable[str]] = ...) -> None: ...

class GitSourceSpec(_message.Message):
    __slots__ = ("name", "url", "branch", "tag", "path", "interval_seconds", "suspend", "credentials_file")
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SUSPEND_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FILE_FIELD_NUMBER: _ClassVar[int]
    name: str
    url: str
    branch: str
    tag: str
    path: str
    interval_seconds: float
    suspend: bool
    credentials_file: str
    def __init__(self, name: _Optional[str] = ..., url: _Optional[str] = ..., branch: _Optional[str] = ..., tag: _Optional[str] = ..., path: _Optional[str] = ..., interval_seconds: _Optional[float] = ..., suspend: _Optional[bool] = ..., credentials_file: _Optional[str] = ...) -> None: ...

class GitHistoryEntry(_message.Message):
    __slots__ = ("time", "revision", "result")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    time: float
    revision: str
    result: str
    def __init__(self, time: _Optional[float] = ..., revision: _Optional[str] = ..., result: _Optional[str] = ...) -> None: ...

class GitSource(_message.Message):
    __slots__ = ("spec", "origin", "fetched_revision", "fetched_at", "applied_revision", "applied_at", "attempted_revision", "attempted_at", "last_error", "error_at", "resources", "conflicts", "history", "syncing", "last_sync_seconds")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    FETCHED_REVISION_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_REVISION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_AT_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SYNCING_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_SECONDS_FIELD_NUMBER: _ClassVar[int]
    spec: GitSourceSpec
    origin: str
    fetched_revision: str
    fetched_at: float
    applied_revision: str
    applied_at: float
    attempted_revision: str
    attempted_at: float
    last_error: str
    error_at: float
    resources: int
    conflicts: _containers.RepeatedScalarFieldContainer[str]
    history: _containers.RepeatedCompositeFieldContainer[GitHistoryEntry]
    syncing: bool
    last_sync_seconds: float
    def __init__(self, spec: _Optional[_Union[GitSourceSpec, _Mapping]] = ..., origin: _Optional[str] = ..., fetched_revision: _Optional[str] = ..., fetched_at: _Optional[float] = ..., applied_revision: _Optional[str] = ..., applied_at: _Optional[float] = ..., attempted_revision: _Optional[str] = ..., attempted_at: _Optional[float] = ..., last_error: _Optional[str] = ..., error_at: _Optional[float] = ..., resources: _Optional[int] = ..., conflicts: _Optional[_Iterable[str]] = ..., history: _Optional[_Iterable[_Union[GitHistoryEntry, _Mapping]]] = ..., syncing: _Optional[bool] = ..., last_sync_seconds: _Optional[float] = ...) -> None: ...

class GitAddRequest(_message.Message):
    __slots__ = ("spec", "wait", "timeout_seconds")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    spec: GitSourceSpec
    wait: bool
    timeout_seconds: float
    def __init__(self, spec: _Optional[_Union[GitSourceSpec, _Mapping]] = ..., wait: _Optional[bool] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class GitListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GitListReply(_message.Message):
    __slots__ = ("sources",)
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[GitSource]
    def __init__(self, sources: _Optional[_Iterable[_Union[GitSource, _Mapping]]] = ...) -> None: ...

class GitRemoveRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GitRemoveReply(_message.Message):
    __slots__ = ("pass_number",)
    PASS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    pass_number: int
    def __init__(self, pass_number: _Optional[int] = ...) -> None: ...

class GitSyncRequest(_message.Message):
    __slots__ = ("name", "timeout_seconds")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    timeout_seconds: float
    def __init__(self, name: _Optional[str] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class GitStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
