"""The same text in train and in dev or test is found (training/data/gold.py), and the shipped
gold data has none."""

from __future__ import annotations

from training.data import gold

NOTICE = ("国务院办公厅关于加强电力需求侧管理实施有序用电的紧急通知各省、自治区、直辖市人民政府："
          "近期部分地区电力供应紧张，为保障居民生活和重点用户用电，现就有关事项通知如下。"
          "一、加强组织领导，各地要建立有序用电工作机制，制定应急预案。"
          "二、优先保障居民生活、农业生产和重要公共设施用电，限制高耗能企业用电。")
OTHER = ("关于举办全国生态环境监测技术大比武的通知各省、自治区、直辖市人民政府："
         "为提升监测人员技术水平，定于今年举办比武活动，奖励优秀集体和个人，"
         "各单位要认真组织报名，按时报送材料。")


def test_a_second_crawl_in_test_is_found_and_a_related_notice_is_not() -> None:
    texts = {"train-copy": NOTICE.replace("，", "， "), "test-a": NOTICE, "train-other": OTHER}
    splits = {"train": ["train-copy", "train-other"], "dev": [], "test": ["test-a"]}
    found = gold.cross_split_copies(splits, texts)
    assert [(a, b) for a, b, _ in found] == [("train-copy", "test-a")]
    assert found[0][2] == 1.0


def test_a_summary_quoting_most_of_a_dev_document_is_found() -> None:
    summary = "新闻：" + NOTICE[:len(NOTICE) // 2] + "记者了解到，相关工作正在推进。"
    splits = {"train": ["news"], "dev": ["notice"], "test": []}
    assert gold.cross_split_copies(splits, {"news": summary, "notice": NOTICE})


def test_the_shipped_gold_splits_hold_no_copies() -> None:
    assert gold.validate_no_copies(gold.load_splits()) == []
