/* err.c - engine error recording. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int gm_fail(struct gm_err *err, enum gm_code code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->detail[0] = '\0';
		if (fmt) {
			va_start(ap, fmt);
			vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
			va_end(ap);
		}
	}
	return -(int)code;
}

void gm_err_clear(struct gm_err *err)
{
	if (err) {
		err->code = GM_OK;
		err->detail[0] = '\0';
	}
}
