"""The native parser's machine code: compiled by numba once per machine, kept in the cache folder, and
loaded on later runs with llvmlite alone.

Importing numba and loading a function from its cache costs about 0.3 s per run, a fifth of a
diagnosis of a million lines. The generated parser is a C function on raw pointers
(codegen.py) that allocates nothing and raises nothing, so its object code is all there is to
it: llvmlite (numba's own backend, about 35 ms to import) links it into the process in a few
milliseconds, and ctypes calls it, releasing the GIL for the call.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alb502athena import __version__
from alb502athena.engines.compiled import cache_dir, prune, prune_temporary, write_whole

_ARGS = (
    ctypes.c_void_p,  # buf
    ctypes.c_int64,  # start
    ctypes.c_int64,  # n
    ctypes.c_void_p,  # class tables
    ctypes.c_void_p,  # slots
    ctypes.c_void_p,  # column levels
    ctypes.c_void_p,  # views (bytes)
    ctypes.c_void_p,  # the same views (32-bit words)
    ctypes.c_void_p,  # validity bitmaps
    ctypes.c_int64,  # width
    ctypes.c_int64,  # capacity in rows
    ctypes.c_void_p,  # scratch: field spans
    ctypes.c_void_p,  # out: where the next line starts
)
KEEP_PARSERS = 8
# Numba's C wrapper calls these only on its error path, after the function raised, which the parser
# never does. Bound to abort() so that a broken promise stops the process rather than jump to 0.
_ERROR_PATH = ("numba_gil_ensure", "numba_gil_release", "NRT_MemInfo_call_dtor")


class KernelError(RuntimeError):
    """The parser's machine code could neither be loaded nor compiled."""


@dataclass(frozen=True)
class Kernel:
    function: Any  # the ctypes function
    engine: Any  # llvmlite's execution engine, which owns the code's memory

    def __call__(self, *args: int) -> int:
        return int(self.function(*args))


def _cache_key(source: str) -> str:
    import llvmlite
    import llvmlite.binding as llvm

    # Numba compiles for this CPU's features: a cache folder shared with another machine must not
    # hand it code for a different one.
    host = f"{llvm.get_host_cpu_name()} {llvm.get_host_cpu_features().flatten()}"
    return hashlib.sha256(f"{__version__}\n{llvmlite.__version__}\n{host}\n{source}".encode()).hexdigest()


def _cache_path(key: str) -> Path:
    return cache_dir().parent / "native" / f"alb_parser_{key[:16]}.o"


def _compile(source: str) -> tuple[str, bytes]:
    """Compile the generated source with numba: the wrapper's symbol name and the object code."""
    import numba  # noqa: F401  (a missing numba fails here, with its own message)

    namespace: dict[str, Any] = {}
    exec(compile(source, "<alb502athena native parser>", "exec"), namespace)
    function = namespace["parse"]
    # The same call numba's own cache makes to store a function's machine code.
    _, kind, payload = function._library.serialize_using_object_code()
    if kind != "object":
        raise KernelError(f"numba returned {kind!r} code, not an object file")
    return str(function.native_name), bytes(payload[0])


def _load(name: str, code: bytes) -> Kernel:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    abort = ctypes.cast(ctypes.CDLL(None).abort, ctypes.c_void_p).value
    for symbol in _ERROR_PATH:
        if not llvm.address_of_symbol(symbol):
            llvm.add_symbol(symbol, abort)
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
    engine.add_object_file(llvm.ObjectFileRef.from_data(code))
    engine.finalize_object()
    address = engine.get_function_address(name)
    if not address:
        raise KernelError(f"the parser's code has no symbol {name}")
    return Kernel(ctypes.CFUNCTYPE(ctypes.c_int64, *_ARGS)(address), engine)


def _header(name: str, key: str, code: bytes) -> bytes:
    return f"{name} {key} {hashlib.sha256(code).hexdigest()}\n".encode()


def _read(path: Path, key: str) -> tuple[str, bytes]:
    # The first line names the symbol, the key the code was stored under and the code's digest: a
    # damaged file, or a whole one copied or renamed from another key (another format, version or
    # CPU), is compiled again rather than handed to the linker.
    header, newline, code = path.read_bytes().partition(b"\n")
    name = header.split(b" ", 1)[0].decode(errors="replace")
    if not newline or not name or header + newline != _header(name, key, code):
        raise ValueError(f"{path}: not the cached parser for this key")
    return name, code


def _write(path: Path, key: str, name: str, code: bytes) -> None:
    write_whole(path, _header(name, key, code) + code)


def is_compiled(source: str) -> bool:
    """Whether the parser for `source` is in the cache (loading it then takes milliseconds)."""
    try:
        return _cache_path(_cache_key(source)).exists()
    except ImportError:
        return False


@cache
def kernel(source: str) -> Kernel:
    """The parser compiled from `source`, from the cache when it was compiled here before. KernelError
    says why it could be neither loaded nor compiled (numba or llvmlite missing or changed)."""
    try:
        key = _cache_key(source)
    except ImportError as exc:
        raise KernelError(f"the native parser could not be loaded: {exc}") from exc
    path = _cache_path(key)
    try:
        name, code = _read(path, key)
    except (OSError, ValueError):
        try:
            name, code = _compile(source)
        except Exception as exc:  # numba's own errors have no common base class
            raise KernelError(f"the native parser could not be compiled: {exc}") from exc
        # A read-only cache costs a compile per run, not the run.
        with contextlib.suppress(OSError):
            _write(path, key, name, code)
        # One file per version, format and CPU: keep the few a machine may still use.
        prune(path.parent, "alb_parser_*.o", KEEP_PARSERS)
        prune_temporary(path.parent)
    try:
        return _load(name, code)
    except (KernelError, RuntimeError, OSError) as exc:
        raise KernelError(f"the native parser could not be loaded: {exc}") from exc
