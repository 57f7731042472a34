#!/usr/bin/python3
"""A PAM client with a programmable conversation (ctypes over libpam).

Used by the integration tests for replies pamtester's misc_conv cannot
produce: a NULL reply, or a reply longer than misc_conv's 4 KiB line.

    pamconv.py SERVICE USER RHOST        (run under pam_wrapper/nss_wrapper)

For every prompt it prints `PROMPT <text>` and reads one JSON line from
stdin telling it what to answer:
    {"text": "123456"}             that string
    {"repeat": "1", "n": 1048576}  "1" * n
    {"null": true}                 a NULL resp
    {"fail": true}                 the conversation fails (PAM_CONV_ERR)
Messages are printed as `INFO <text>` / `ERROR <text>`.  At the end it
prints `pamtester: successfully authenticated` or `pamtester: <pam_strerror>`
like pamtester does, and exits 0 or 1.
"""
import ctypes
import json
import sys

PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_ERROR_MSG, PAM_TEXT_INFO = 1, 2, 3, 4
PAM_SUCCESS, PAM_BUF_ERR, PAM_CONV_ERR = 0, 5, 19
PAM_RHOST = 4


class PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


CONV_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int,
                             ctypes.POINTER(ctypes.POINTER(PamMessage)),
                             ctypes.POINTER(ctypes.POINTER(PamResponse)),
                             ctypes.c_void_p)


class PamConv(ctypes.Structure):
    _fields_ = [("conv", CONV_FUNC), ("appdata_ptr", ctypes.c_void_p)]


libc = ctypes.CDLL(None)
libc.calloc.restype = ctypes.c_void_p
libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

# pam_wrapper is preloaded: its pam_start & co. come first in the global
# scope, so look the functions up there (not in libpam's own handle).
ctypes.CDLL("libpam.so.0", mode=ctypes.RTLD_GLOBAL)
g = ctypes.CDLL(None)
pam_start = g.pam_start
pam_start.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                      ctypes.POINTER(PamConv), ctypes.POINTER(ctypes.c_void_p)]
pam_set_item = g.pam_set_item
pam_set_item.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
pam_authenticate = g.pam_authenticate
pam_authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int]
pam_end = g.pam_end
pam_end.argtypes = [ctypes.c_void_p, ctypes.c_int]
pam_strerror = g.pam_strerror
pam_strerror.argtypes = [ctypes.c_void_p, ctypes.c_int]
pam_strerror.restype = ctypes.c_char_p


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cstring(b):
    p = libc.malloc(len(b) + 1)
    ctypes.memmove(p, b, len(b))
    ctypes.memset(p + len(b), 0, 1)
    return p


@CONV_FUNC
def conv(n, msgs, resp, _appdata):
    arr = libc.calloc(n, ctypes.sizeof(PamResponse))
    replies = ctypes.cast(arr, ctypes.POINTER(PamResponse))
    for i in range(n):
        m = msgs[i].contents
        text = (m.msg or b"").decode("utf-8", "replace")
        if m.msg_style in (PAM_PROMPT_ECHO_ON, PAM_PROMPT_ECHO_OFF):
            out("PROMPT " + text)
            line = sys.stdin.readline()
            want = json.loads(line) if line.strip() else {"fail": True}
            if want.get("fail"):
                for j in range(i):
                    if replies[j].resp:
                        libc.free(replies[j].resp)
                libc.free(arr)
                return PAM_CONV_ERR
            if want.get("null"):
                replies[i].resp = None
            elif "repeat" in want:
                replies[i].resp = cstring(want["repeat"].encode() * int(want["n"]))
            else:
                replies[i].resp = cstring(want["text"].encode())
        elif m.msg_style == PAM_TEXT_INFO:
            out("INFO " + text)
        elif m.msg_style == PAM_ERROR_MSG:
            out("ERROR " + text)
        else:
            out("UNKNOWN %d %s" % (m.msg_style, text))
    resp[0] = replies
    return PAM_SUCCESS


def main():
    service, user, rhost = sys.argv[1], sys.argv[2], sys.argv[3]
    c = PamConv(conv, None)
    h = ctypes.c_void_p()
    r = pam_start(service.encode(), user.encode(), ctypes.byref(c), ctypes.byref(h))
    if r != PAM_SUCCESS:
        out("pamtester: pam_start failed %d" % r)
        return 1
    if rhost:
        pam_set_item(h, PAM_RHOST, ctypes.c_char_p(rhost.encode()))
    r = pam_authenticate(h, 0)
    if r == PAM_SUCCESS:
        out("pamtester: successfully authenticated")
    else:
        out("pamtester: " + pam_strerror(h, r).decode())
    pam_end(h, r)
    return 0 if r == PAM_SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
