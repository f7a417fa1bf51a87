"""Great Expectations 1.x expectation names, their kwargs and the kwargs they require, so config typos and
missing arguments are caught without importing GX.

Generated from great_expectations.expectations (tests/test_gx_catalog.py keeps it in step with the
installed GX). Common keys (meta, notes, description, result_format, catch_exceptions, severity) are
accepted everywhere.
"""

COMMON = frozenset({"meta", "notes", "description", "result_format", "catch_exceptions", "severity"})

EXPECTATIONS: dict[str, frozenset[str]] = {
    "expect_column_distinct_values_to_be_in_set": frozenset(
        ["column", "condition_parser", "row_condition", "value_set"]
    ),
    "expect_column_distinct_values_to_contain_set": frozenset(
        ["column", "condition_parser", "row_condition", "value_set"]
    ),
    "expect_column_distinct_values_to_equal_set": frozenset(
        ["column", "condition_parser", "row_condition", "value_set"]
    ),
    "expect_column_k_l_divergence_to_be_less_than": frozenset(
        [
            "bucketize_data",
            "column",
            "condition_parser",
            "internal_weight_holdout",
            "max_value",
            "min_value",
            "partition_object",
            "row_condition",
            "tail_weight_holdout",
            "threshold",
        ]
    ),
    "expect_column_max_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_mean_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_median_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_min_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_most_common_value_to_be_in_set": frozenset(
        ["column", "condition_parser", "row_condition", "ties_okay", "value_set"]
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": frozenset(
        ["column_A", "column_B", "condition_parser", "ignore_row_if", "mostly", "or_equal", "row_condition"]
    ),
    "expect_column_pair_values_to_be_equal": frozenset(
        ["column_A", "column_B", "condition_parser", "ignore_row_if", "mostly", "row_condition"]
    ),
    "expect_column_pair_values_to_be_in_set": frozenset(
        ["column_A", "column_B", "condition_parser", "ignore_row_if", "mostly", "row_condition", "value_pairs_set"]
    ),
    "expect_column_proportion_of_non_null_values_to_be_between": frozenset(
        [
            "column",
            "condition_parser",
            "library_metadata",
            "max_value",
            "min_value",
            "row_condition",
            "strict_max",
            "strict_min",
        ]
    ),
    "expect_column_proportion_of_unique_values_to_be_between": frozenset(
        [
            "column",
            "condition_parser",
            "library_metadata",
            "max_value",
            "min_value",
            "row_condition",
            "strict_max",
            "strict_min",
        ]
    ),
    "expect_column_quantile_values_to_be_between": frozenset(
        ["allow_relative_error", "column", "condition_parser", "quantile_ranges", "row_condition"]
    ),
    "expect_column_stdev_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_sum_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_to_exist": frozenset(["column", "column_index"]),
    "expect_column_type_to_be": frozenset(["column", "type_"]),
    "expect_column_unique_value_count_to_be_between": frozenset(
        [
            "column",
            "condition_parser",
            "library_metadata",
            "max_value",
            "min_value",
            "row_condition",
            "strict_max",
            "strict_min",
        ]
    ),
    "expect_column_value_lengths_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "mostly", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_value_lengths_to_equal": frozenset(
        ["column", "condition_parser", "mostly", "row_condition", "value"]
    ),
    "expect_column_value_z_scores_to_be_less_than": frozenset(
        ["column", "condition_parser", "double_sided", "mostly", "row_condition", "threshold"]
    ),
    "expect_column_values_to_be_between": frozenset(
        ["column", "condition_parser", "max_value", "min_value", "mostly", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_column_values_to_be_dateutil_parseable": frozenset(
        ["column", "condition_parser", "library_metadata", "mostly", "row_condition"]
    ),
    "expect_column_values_to_be_decreasing": frozenset(
        ["column", "condition_parser", "library_metadata", "mostly", "row_condition", "strictly"]
    ),
    "expect_column_values_to_be_in_set": frozenset(
        ["column", "condition_parser", "mostly", "row_condition", "value_set"]
    ),
    "expect_column_values_to_be_in_type_list": frozenset(
        ["column", "condition_parser", "mostly", "row_condition", "type_list"]
    ),
    "expect_column_values_to_be_increasing": frozenset(
        ["column", "condition_parser", "library_metadata", "mostly", "row_condition", "strictly"]
    ),
    "expect_column_values_to_be_json_parseable": frozenset(
        ["column", "condition_parser", "library_metadata", "mostly", "row_condition"]
    ),
    "expect_column_values_to_be_null": frozenset(["column", "condition_parser", "mostly", "row_condition"]),
    "expect_column_values_to_be_of_type": frozenset(["column", "condition_parser", "mostly", "row_condition", "type_"]),
    "expect_column_values_to_be_unique": frozenset(["column", "condition_parser", "mostly", "row_condition"]),
    "expect_column_values_to_match_json_schema": frozenset(
        ["column", "condition_parser", "json_schema", "library_metadata", "mostly", "row_condition"]
    ),
    "expect_column_values_to_match_like_pattern": frozenset(
        ["column", "condition_parser", "escape", "like_pattern", "mostly", "row_condition"]
    ),
    "expect_column_values_to_match_like_pattern_list": frozenset(
        ["column", "condition_parser", "escape", "like_pattern_list", "match_on", "mostly", "row_condition"]
    ),
    "expect_column_values_to_match_regex": frozenset(
        ["column", "condition_parser", "mostly", "regex", "row_condition"]
    ),
    "expect_column_values_to_match_regex_list": frozenset(
        ["column", "condition_parser", "match_on", "mostly", "regex_list", "row_condition"]
    ),
    "expect_column_values_to_match_strftime_format": frozenset(
        ["column", "condition_parser", "mostly", "row_condition", "strftime_format"]
    ),
    "expect_column_values_to_not_be_in_set": frozenset(
        ["column", "condition_parser", "mostly", "row_condition", "value_set"]
    ),
    "expect_column_values_to_not_be_null": frozenset(["column", "condition_parser", "mostly", "row_condition"]),
    "expect_column_values_to_not_be_outliers": frozenset(
        ["column", "condition_parser", "method", "mostly", "multiplier", "row_condition"]
    ),
    "expect_column_values_to_not_match_like_pattern": frozenset(
        ["column", "condition_parser", "escape", "like_pattern", "mostly", "row_condition"]
    ),
    "expect_column_values_to_not_match_like_pattern_list": frozenset(
        ["column", "condition_parser", "escape", "like_pattern_list", "mostly", "row_condition"]
    ),
    "expect_column_values_to_not_match_regex": frozenset(
        ["column", "condition_parser", "mostly", "regex", "row_condition"]
    ),
    "expect_column_values_to_not_match_regex_list": frozenset(
        ["column", "condition_parser", "mostly", "regex_list", "row_condition"]
    ),
    "expect_compound_columns_to_be_unique": frozenset(
        ["column_list", "condition_parser", "ignore_row_if", "mostly", "row_condition"]
    ),
    "expect_multicolumn_sum_to_equal": frozenset(
        ["column_list", "condition_parser", "ignore_row_if", "mostly", "row_condition", "sum_total"]
    ),
    "expect_multicolumn_values_to_be_equal": frozenset(
        ["column_list", "condition_parser", "ignore_row_if", "mostly", "row_condition"]
    ),
    "expect_multicolumn_values_to_be_unique": frozenset(
        ["column", "column_list", "condition_parser", "ignore_row_if", "library_metadata", "mostly", "row_condition"]
    ),
    "expect_query_results_to_match_comparison": frozenset(
        ["base_query", "comparison_data_source_name", "comparison_query", "mostly"]
    ),
    "expect_select_column_values_to_be_unique_within_record": frozenset(
        ["column_list", "condition_parser", "ignore_row_if", "mostly", "row_condition"]
    ),
    "expect_table_column_count_to_be_between": frozenset(["max_value", "min_value"]),
    "expect_table_column_count_to_equal": frozenset(["value"]),
    "expect_table_columns_to_match_ordered_list": frozenset(["column_list"]),
    "expect_table_columns_to_match_set": frozenset(["column_set", "exact_match"]),
    "expect_table_row_count_to_be_between": frozenset(
        ["condition_parser", "max_value", "min_value", "row_condition", "strict_max", "strict_min"]
    ),
    "expect_table_row_count_to_equal": frozenset(["condition_parser", "row_condition", "value"]),
    "expect_table_row_count_to_equal_other_table": frozenset(["condition_parser", "other_table_name", "row_condition"]),
    "expectation": frozenset([]),
}

# kwargs GX's own models require (fields without a default)
REQUIRED: dict[str, frozenset[str]] = {
    "expect_column_distinct_values_to_be_in_set": frozenset(["column", "value_set"]),
    "expect_column_distinct_values_to_contain_set": frozenset(["column", "value_set"]),
    "expect_column_distinct_values_to_equal_set": frozenset(["column", "value_set"]),
    "expect_column_k_l_divergence_to_be_less_than": frozenset(["column"]),
    "expect_column_max_to_be_between": frozenset(["column"]),
    "expect_column_mean_to_be_between": frozenset(["column"]),
    "expect_column_median_to_be_between": frozenset(["column"]),
    "expect_column_min_to_be_between": frozenset(["column"]),
    "expect_column_most_common_value_to_be_in_set": frozenset(["column", "value_set"]),
    "expect_column_pair_values_a_to_be_greater_than_b": frozenset(["column_A", "column_B"]),
    "expect_column_pair_values_to_be_equal": frozenset(["column_A", "column_B"]),
    "expect_column_pair_values_to_be_in_set": frozenset(["column_A", "column_B", "value_pairs_set"]),
    "expect_column_proportion_of_non_null_values_to_be_between": frozenset(["column"]),
    "expect_column_proportion_of_unique_values_to_be_between": frozenset(["column"]),
    "expect_column_quantile_values_to_be_between": frozenset(["column", "quantile_ranges"]),
    "expect_column_stdev_to_be_between": frozenset(["column"]),
    "expect_column_sum_to_be_between": frozenset(["column"]),
    "expect_column_to_exist": frozenset(["column"]),
    "expect_column_type_to_be": frozenset(["column", "type_"]),
    "expect_column_unique_value_count_to_be_between": frozenset(["column"]),
    "expect_column_value_lengths_to_be_between": frozenset(["column"]),
    "expect_column_value_lengths_to_equal": frozenset(["column", "value"]),
    "expect_column_value_z_scores_to_be_less_than": frozenset(["column", "double_sided", "threshold"]),
    "expect_column_values_to_be_between": frozenset(["column"]),
    "expect_column_values_to_be_dateutil_parseable": frozenset(["column"]),
    "expect_column_values_to_be_decreasing": frozenset(["column"]),
    "expect_column_values_to_be_in_set": frozenset(["column", "value_set"]),
    "expect_column_values_to_be_in_type_list": frozenset(["column"]),
    "expect_column_values_to_be_increasing": frozenset(["column"]),
    "expect_column_values_to_be_json_parseable": frozenset(["column"]),
    "expect_column_values_to_be_null": frozenset(["column"]),
    "expect_column_values_to_be_of_type": frozenset(["column", "type_"]),
    "expect_column_values_to_be_unique": frozenset(["column"]),
    "expect_column_values_to_match_json_schema": frozenset(["column", "json_schema"]),
    "expect_column_values_to_match_like_pattern": frozenset(["column", "like_pattern"]),
    "expect_column_values_to_match_like_pattern_list": frozenset(["column", "like_pattern_list"]),
    "expect_column_values_to_match_regex": frozenset(["column"]),
    "expect_column_values_to_match_regex_list": frozenset(["column", "regex_list"]),
    "expect_column_values_to_match_strftime_format": frozenset(["column", "strftime_format"]),
    "expect_column_values_to_not_be_in_set": frozenset(["column", "value_set"]),
    "expect_column_values_to_not_be_null": frozenset(["column"]),
    "expect_column_values_to_not_be_outliers": frozenset(["column"]),
    "expect_column_values_to_not_match_like_pattern": frozenset(["column", "like_pattern"]),
    "expect_column_values_to_not_match_like_pattern_list": frozenset(["column", "like_pattern_list"]),
    "expect_column_values_to_not_match_regex": frozenset(["column", "regex"]),
    "expect_column_values_to_not_match_regex_list": frozenset(["column", "regex_list"]),
    "expect_compound_columns_to_be_unique": frozenset(["column_list"]),
    "expect_multicolumn_sum_to_equal": frozenset(["column_list", "sum_total"]),
    "expect_multicolumn_values_to_be_equal": frozenset(["column_list"]),
    "expect_multicolumn_values_to_be_unique": frozenset(["column", "column_list"]),
    "expect_query_results_to_match_comparison": frozenset(
        ["base_query", "comparison_data_source_name", "comparison_query"]
    ),
    "expect_select_column_values_to_be_unique_within_record": frozenset(["column_list"]),
    "expect_table_column_count_to_equal": frozenset(["value"]),
    "expect_table_row_count_to_equal": frozenset(["value"]),
    "expect_table_row_count_to_equal_other_table": frozenset(["other_table_name"]),
}
