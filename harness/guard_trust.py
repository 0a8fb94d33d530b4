"""In the test process, loaded by the guard at interpreter start: which code the guard trusts.

Code is trusted by *identity* with what was compiled from root-owned files, never by the file
name a code object claims: `compile()` and `code.replace()` set `co_filename` to anything. So,
where Python has audit hooks (3.8+), a hook installed before any code of the tree runs
- keeps every module code object executed (`exec` events) under its file name, so that the
  callable run as a test can later be found, by identity, among the code compiled from its
  root-owned test file (`Trust.compiled_from`);
- treats as tampering, when code the candidate wrote is on the stack: a trace or profile
  function set (sys.settrace/setprofile: the means to swallow a failure in another frame), a
  function's `__code__` swapped for code that runs differently, gc's referrer/object walks (the
  way to find test functions and runner state from library code), ctypes memory access; and a
  code object built (`code.__new__`, code.replace) by the candidate's own code under the name of
  another existing file;
- treats as tampering `compile()` under the name of an existing file of text that is not that
  file's (pytest's assertion rewriter, root's own file, may compile its AST of the file).
Python 3.6 and 3.7 have no audit hooks; there the canaries and the recorded outcomes stand alone.
Each finding is reported at once through `report` (the guard's pipe), so nothing later in the
run can take it back. Standard library only, Python 3.6+ syntax (the venv's interpreter).
"""

import os
import sys

RUN_INFO = "/opt/swe-monkeys/run/candidate-paths"  # root-owned: "M path" / "A path" the candidate wrote
_STACK_EVENTS = frozenset(("sys.settrace", "sys.setprofile", "gc.get_referrers", "gc.get_objects",
                           "gc.get_referents", "ctypes.addressof", "ctypes.string_at", "ctypes.cdata"))


def candidate_paths(root):
    """(modified, added): real paths of the files the candidate's patch changed or created."""
    modified, added = set(), set()
    try:
        with open(RUN_INFO, errors="surrogateescape") as f:
            for line in f:
                kind, _, path = line.rstrip("\n").partition(" ")
                (added if kind == "A" else modified).add(os.path.realpath(os.path.join(root, path)))
    except OSError:
        pass
    return modified, added


class Trust:
    """Whose code a file holds, looked up once per file (a file's owner never changes under a
    non-root process, and a path created later was missing, hence untrusted, before)."""

    def __init__(self, root, own=()):
        self.modified, self.added = candidate_paths(root)
        self.own = tuple(own)  # packages whose files the candidate may edit legitimately (pytest-dev)
        self.owners = {}
        self.execed = {}  # file name -> module code objects executed from it (exec events)
        self._walked = {}

    def why(self, path, module_name=""):
        """Why code from this file may not be trusted, or ""."""
        if not path or path.startswith("<"):
            return "without a source file"
        if path not in self.owners:
            real = os.path.realpath(path)
            try:
                self.owners[path] = (real, os.stat(real).st_uid)
            except OSError:
                self.owners[path] = (real, None)
        real, uid = self.owners[path]
        if uid is None:
            return "missing"
        if uid != 0:
            return "created at run time"
        if real in self.added:
            return "added by the candidate"
        if real in self.modified and (module_name or "").split(".")[0] not in self.own:
            return "written by the candidate"
        return ""

    def code_why(self, code, module_name=""):
        return self.why(getattr(code, "co_filename", ""), module_name)

    def frame_why(self, frame):
        name = frame.f_code.co_filename
        if name.startswith("<frozen"):
            return ""  # the import system's own frames
        return self.why(name, frame.f_globals.get("__name__", "") if type(frame.f_globals) is dict else "")

    def candidate_on_stack(self, frame, depth=60):
        """The first frame's file that the candidate wrote (or code without a file), or ""."""
        while frame is not None and depth:
            if self.frame_why(frame):
                return frame.f_code.co_filename
            frame, depth = frame.f_back, depth - 1
        return ""

    def compiled_from(self, code):
        """True when `code` is, by identity, part of a module code object executed from the file
        it names (what the runner compiled from the root-owned file), or audit hooks are absent."""
        if not hasattr(sys, "addaudithook"):
            return True
        name = code.co_filename
        if name not in self._walked:
            found = set()
            todo = list(self.execed.get(name, ()))
            while todo:
                c = todo.pop()
                if id(c) not in found:
                    found.add(id(c))
                    todo.extend(k for k in c.co_consts if type(k) is type(c))
            self._walked[name] = found
        if id(code) not in self._walked[name]:
            self._walked.pop(name, None)  # a module executed since may hold it: look again next time
            return False
        return True


def install_audit_hook(trust, report):
    """Add the audit hook (3.8+; it cannot be removed). `report(reason)` is called on tampering."""
    if not hasattr(sys, "addaudithook"):
        return False
    getframe, execed, contents = sys._getframe, trust.execed, {}

    def same_text(source, filename):
        if filename not in contents:
            try:
                with open(filename, "rb") as f:
                    contents[filename] = f.read()
            except OSError:
                contents[filename] = None
        data = contents[filename]
        if data is None or isinstance(source, (bytes, bytearray)):
            return data == source
        if isinstance(source, str):
            for encoding in ("utf-8", "latin-1"):
                try:
                    if data.decode(encoding) == source:
                        return True
                except UnicodeDecodeError:
                    continue
        return False

    def same_behaviour(old, new):
        """A code object swapped for one that runs the same (types.coroutine only sets the
        iterable-coroutine flag on a generator's code)."""
        if old is None or type(new) is not type(old):
            return False
        return (old.co_code, old.co_consts, old.co_names, old.co_filename, old.co_firstlineno,
                old.co_flags | 0x100) == (new.co_code, new.co_consts, new.co_names, new.co_filename,
                                          new.co_firstlineno, new.co_flags | 0x100)

    def hook(event, args):
        if event == "exec":
            code = args[0]
            if type(code).__name__ == "code" and code.co_name == "<module>":
                execed.setdefault(code.co_filename, []).append(code)
            return
        if event == "compile":
            filename = args[1]
            if isinstance(filename, bytes):
                filename = os.fsdecode(filename)
            if isinstance(filename, str) and filename[:1] == "/" and os.path.isfile(filename) \
                    and not same_text(args[0], filename):
                try:
                    caller = getframe(1)
                except ValueError:  # no Python frame: the interpreter compiling its main script
                    return
                if trust.why(caller.f_code.co_filename):
                    report("compile() of other text under the name of %s" % filename)
            return
        if event == "object.__setattr__" and args[1] == "__code__":
            if not same_behaviour(getattr(args[0], "__code__", None), args[2]):
                on_stack(getframe, "%s.__code__ assigned" % getattr(args[0], "__qualname__", "?"))
        elif event in _STACK_EVENTS:
            on_stack(getframe, event)
        elif event == "code.__new__" and isinstance(args[1], str) and args[1][:1] == "/":
            # code.replace() or CodeType() naming a file, called by the candidate's own code (the
            # stdlib's types.coroutine re-flags a code object of its caller's: not this).
            try:
                caller = getframe(1)
            except ValueError:
                return
            if trust.frame_why(caller) and args[1] != caller.f_code.co_filename:
                report("a code object made under the name of %s by code from %s"
                       % (args[1], caller.f_code.co_filename))

    def on_stack(getframe, what):
        try:
            where = trust.candidate_on_stack(getframe(2))
        except ValueError:  # called from no Python frame at all
            return
        if where:
            report("%s by code from %s" % (what, where))

    sys.addaudithook(hook)
    return True
