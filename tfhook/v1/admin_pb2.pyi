from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HeldRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HeldRun(_message.Message):
    __slots__ = ("run", "route", "directory", "instance", "held_at", "reason", "changes")
    RUN_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    HELD_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    run: int
    route: str
    directory: str
    instance: str
    held_at: float
    reason: str
    changes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run: _Optional[int] = ..., route: _Optional[str] = ..., directory: _Optional[str] = ..., instance: _Optional[str] = ..., held_at: _Optional[float] = ..., reason: _Optional[str] = ..., changes: _Optional[_Iterable[str]] = ...) -> None: ...

class HeldResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[HeldRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[HeldRun, _Mapping]]] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: int
    def __init__(self, run: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("directory", "run", "apply")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    APPLY_FIELD_NUMBER: _ClassVar[int]
    directory: str
    run: int
    apply: bool
    def __init__(self, directory: _Optional[str] = ..., run: _Optional[int] = ..., apply: _Optional[bool] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...
