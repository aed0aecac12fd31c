// The module is a header of inline functions; C targets need one source file.
#include "bourse_support.h"
