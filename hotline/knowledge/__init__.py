"""The knowledge base (知识库) agents answer consultations from: articles and their
versions with editing and review (`repository`), the Chinese search over them (`indexing`
builds the terms, `search` looks them up), import and export as XLSX (`workbook`), and
`hotline knowledge` (`cli`)."""

from hotline.knowledge.errors import KnowledgeError
from hotline.knowledge.records import ArticleFields, ArticleRecord, SearchHit, VersionRecord

__all__ = ["ArticleFields", "ArticleRecord", "KnowledgeError", "SearchHit", "VersionRecord"]
