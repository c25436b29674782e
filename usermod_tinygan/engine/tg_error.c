/* Error messages for tg_error without stdio (see tg_util.h). */
#include <stdarg.h>

#include "tg_util.h"

const char tg_tag_int[] = "i", tg_tag_uint[] = "u";

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    while (*s && pos + 1 < cap)
        buf[pos++] = *s++;
    return pos;
}

static size_t put_uint(char *buf, size_t pos, size_t cap, unsigned long v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n && pos + 1 < cap)
        buf[pos++] = digits[--n];
    return pos;
}

tg_status tg_fail(tg_error *err, tg_status code, int layer, int chunk, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->layer = layer;
    err->chunk = chunk;
    size_t pos = 0, cap = sizeof err->msg;
    va_list ap;
    va_start(ap, chunk);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        if (p == tg_tag_int) {
            long v = va_arg(ap, long);
            if (v < 0)
                pos = put_str(err->msg, pos, cap, "-");
            pos = put_uint(err->msg, pos, cap, v < 0 ? 0ul - (unsigned long)v : (unsigned long)v);
        } else if (p == tg_tag_uint) {
            pos = put_uint(err->msg, pos, cap, va_arg(ap, unsigned long));
        } else {
            pos = put_str(err->msg, pos, cap, p);
        }
    }
    va_end(ap);
    err->msg[pos] = 0;
    return code;
}
