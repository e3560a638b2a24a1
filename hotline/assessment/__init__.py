"""The supervisors' periodic reports (监督考核): the assessment of each handling unit on the
work orders, extensions, callbacks and ratings the flow writes (`units`), and the call
centre's monthly figures on the agents' queue (`callcentre`), for any period of days
(`periods`, with the period before it to compare), and both as XLSX (`export`).

Every figure is one SQL count over the rows the flow writes, so that a report reread later
agrees with itself; docs/assessment.md defines each column. The reports take the moment
they are read at (`now`) from their caller: a deadline still ahead is not counted missed.
"""
