// A finished job's result as a value: the text as a str, or parsed JSON when the endpoint's
// result_format is json. Shared by every front door.
#pragma once

#include "common/result.hpp"
#include "jobs/job.hpp"
#include "value/value.hpp"

namespace pg::endpoints {

/// Only for completed jobs. A json-format result that is not valid JSON is an error.
Result<value::Value> result_value(const jobs::Job& job);

}  // namespace pg::endpoints
