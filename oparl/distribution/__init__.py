"""Council data for consumers that do not speak OParl: DCAT-AP.de catalogues (`dcat`), meeting
calendars (`ical`) and Atom feeds (`atom`), all built from what an anonymous OParl client is served
(`sources`), so they show nothing the API would not."""
