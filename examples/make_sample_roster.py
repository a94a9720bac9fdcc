"""Writes examples/花名册示例.xlsx and examples/花名册示例.csv: two liaison groups with a leader each,
their members and an office admin, under the headers `python app.py import-roster` reads.

Run it again after changing ROWS: python3 examples/make_sample_roster.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
HEADER = ("姓名", "联络组", "角色", "手机", "企业微信账号", "钉钉账号")
# Made-up people and numbers; the accounts stay empty: members bind themselves (绑定 姓名 手机号).
ROWS = [
    ("王组长", "第一联络组", "组长", "13900000001", "", ""),
    ("张三", "第一联络组", "委员", "13800000001", "", ""),
    ("李四", "第一联络组", "委员", "13800000002", "", ""),
    ("赵六", "第一联络组", "委员", "13800000003", "", ""),
    ("孙组长", "第二联络组", "组长", "13900000002", "", ""),
    ("周七", "第二联络组", "委员", "13800000004", "", ""),
    ("吴八", "第二联络组", "委员", "13800000005", "", ""),
    ("郑九", "第二联络组", "联络员", "13800000006", "", ""),
    ("陈主任", "", "管理员", "13700000001", "", ""),
]


def write_xlsx(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)  # mobiles as text: Excel would show a number as 1.39E+10
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEF", (10, 14, 8, 14, 14, 12), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    wb.save(path)


def write_csv(path: Path) -> None:
    # UTF-8 with a BOM: Excel on Windows opens it with the Chinese intact.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(ROWS)


if __name__ == "__main__":
    write_xlsx(HERE / "花名册示例.xlsx")
    write_csv(HERE / "花名册示例.csv")
    print(f"已写入 {HERE / '花名册示例.xlsx'} 和 {HERE / '花名册示例.csv'}")
