// Intentionally small: every wrapper lives in include/CLinuxShim.h as `static inline`.
#include "CLinuxShim.h"
