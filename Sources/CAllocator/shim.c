// Headers only; SwiftPM wants one source file per C target.
#include "CAllocator.h"
