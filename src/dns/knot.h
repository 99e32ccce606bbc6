// libknot's headers declare no C linkage; every C++ file includes libknot through here.
#pragma once

extern "C" {
#include <libknot/libknot.h>
}
