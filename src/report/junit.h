// JUnit XML for `vigil test --junit FILE`: the de-facto test report format CI systems read
// (GitLab, Jenkins, GitHub test reporters). One <testsuite> per kind of case (escu,
// sigma-regression), one <testcase> per case (classname = rule, name = case), with <failure> or
// <skipped> carrying vigil's reason. Values are escaped for XML 1.0 (control characters shown as
// visible escapes, since XML 1.0 cannot carry them at all).
#pragma once
#include <cstdio>
#include <vector>

#include "engine/rule_tests.h"

namespace vigil::report {

void write_junit(std::FILE* out, const std::vector<RuleTestResult>& results);

}  // namespace vigil::report
