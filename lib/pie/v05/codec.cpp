// Placeholder until the 0.5 codec lands (see codec.hpp).
#include "pie/v05/codec.hpp"
