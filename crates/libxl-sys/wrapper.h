/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libxl headers the bindings are generated from. */
#include <libxl.h>
#include <libxl_utils.h>
#include <xentoollog.h>
